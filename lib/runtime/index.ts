export { type RoutiluxConfig, defineConfig, type RoutineTypeDefinition, type ConfigFlow } from "./config";
export { type FlowsReloadNotice, type FlowsReplaced, getRuntime, type JobListRequest, type JobSummary, Runtime, type RuntimeOptions, type StartJobRequest, setRuntime } from "./runtime";
