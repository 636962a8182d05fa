export { getRuntime, type JobListRequest, type JobSummary, Runtime, type RuntimeOptions, type StartJobRequest, setRuntime } from "./runtime";
