export { type ConfigFlow, defineConfig, type RoutiluxConfig, type RoutineTypeDefinition } from "./config";
export { currentRuntime, installedRuntime, setRuntime } from "./current";
export type { HealthCheck } from "./health";
export {
  type BundledFlow,
  type BundledPayload,
  bundleFromEvents,
  exportJobBundle,
  JOB_BUNDLE_VERSION,
  type JobBundle,
  JobBundleSchema,
  jobBundleProblems,
  parseJobBundle,
  type TraceBundleInput,
} from "./job-bundle";
export { type FlowsReloadNotice, type FlowsReplaced, getRuntime, type JobListRequest, type JobSummary, Runtime, type RuntimeOptions, type StartJobRequest } from "./runtime";
