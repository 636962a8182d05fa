export { type ConfigFlow, defineConfig, type RoutiluxConfig, type RoutineTypeDefinition } from "./config";
export { currentRuntime, installedRuntime, setRuntime } from "./current";
export type { HealthCheck } from "./health";
export { type FlowsReloadNotice, type FlowsReplaced, getRuntime, type JobListRequest, type JobSummary, Runtime, type RuntimeOptions, type StartJobRequest } from "./runtime";
