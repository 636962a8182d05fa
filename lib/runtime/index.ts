export { getRuntime, Runtime, type RuntimeOptions, type StartJobRequest, setRuntime } from "./runtime";
