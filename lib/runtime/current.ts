/**
 * The process's one runtime, kept on `globalThis`: the server installs it before Next prepares,
 * and the `/api` route handlers (bundled by Next, with their own copy of this module) find it here.
 * This module imports nothing but the error family, so a route handler's bundle does not pull in
 * the runtime's dependencies (history's native SQLite addon among them).
 */
import { RoutiluxError } from "../wire/errors";
import type { Runtime } from "./runtime";

const RUNTIME_KEY = Symbol.for("routilux.runtime");
type Slot = { [RUNTIME_KEY]?: Runtime };

/** Installs the process's runtime (the custom server does it before Next prepares). */
export function setRuntime(runtime: Runtime): Runtime {
  (globalThis as Slot)[RUNTIME_KEY] = runtime;
  return runtime;
}

/** The installed runtime, if any. */
export function installedRuntime(): Runtime | undefined {
  return (globalThis as Slot)[RUNTIME_KEY];
}

/** The installed runtime; the server must have installed one (`createServer` does). */
export function currentRuntime(): Runtime {
  const runtime = installedRuntime();
  if (runtime === undefined) {
    throw new RoutiluxError("NO_RUNTIME", "No Routilux runtime is running in this process: serve the app with createServer (npm start, routilux dev), not next dev", { kind: "unavailable" });
  }
  return runtime;
}
