export { currentRuntime, installedRuntime, setRuntime } from "./current";
export { getRuntime, type JobListRequest, type JobSummary, Runtime, type RuntimeOptions, type StartJobRequest } from "./runtime";
