/**
 * The browser's HTTP client, built from the HTTP contract (lib/wire `API`): `call(name, ...)` takes
 * that route's typed parameters, query and body and resolves with its typed answer. Every error
 * answer becomes an `ApiError` carrying the server's code and message (shown in place by the UI).
 */
import {
  API,
  type Api,
  branded,
  type BreakpointBody,
  type BreakpointPatch,
  type ErrorKind,
  fillPath,
  type ForkRequest,
  isRoutiluxError,
  type JobStatus,
  type RouteAnswer,
  type RouteBodyInput,
  type RouteName,
  type RouteParams,
  type RouteQueryInput,
  RoutiluxError,
  type StartJobRequest,
} from "../wire";

const KIND_OF_STATUS: Record<number, ErrorKind> = { 400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 409: "conflict", 413: "too_large", 503: "unavailable" };

/** An error answer (or no answer: `httpStatus` 0), with the server's code and message. */
export class ApiError extends RoutiluxError {
  constructor(
    readonly httpStatus: number,
    code: string,
    message: string,
    details?: unknown,
  ) {
    super(code, message, { kind: KIND_OF_STATUS[httpStatus] ?? (httpStatus === 0 ? "unavailable" : "internal"), details });
  }
}
branded("ApiError", ApiError);

const KEY_STORAGE = "routilux.api_key";
/** Fired on window when the server refuses the key (401/403): the UI asks for one. */
export const AUTH_REQUIRED_EVENT = "routilux:auth-required";

let apiKey: string | null = typeof localStorage !== "undefined" ? localStorage.getItem(KEY_STORAGE) : null;
/** Sets (and remembers in this browser) the key sent as X-API-Key, for a server run with ROUTILUX_API_KEY. */
export function setApiKey(key: string | null): void {
  apiKey = key;
  if (typeof localStorage === "undefined") return;
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}
export function getApiKey(): string | null {
  return apiKey;
}

async function request(method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (apiKey) headers["x-api-key"] = apiKey;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "NETWORK", `The server cannot be reached (${(err as Error).message})`);
  }
  const text = await res.text();
  let json: unknown = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError(res.status, "BAD_RESPONSE", `The server answered ${res.status} with something that is not JSON`);
    }
  }
  if ((res.status === 401 || res.status === 403) && typeof window !== "undefined") {
    window.dispatchEvent(new CustomEvent(AUTH_REQUIRED_EVENT, { detail: { status: res.status } }));
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `HTTP ${res.status}`, e?.details);
  }
  return json;
}

/** What a call of route K takes: its path parameters, query and body (only those it has). */
export type CallInput<K extends RouteName> = (keyof RouteParams<Api[K]> extends never ? { params?: undefined } : { params: RouteParams<Api[K]> }) &
  (RouteQueryInput<Api[K]> extends undefined ? { query?: undefined } : { query?: RouteQueryInput<Api[K]> }) &
  (RouteBodyInput<Api[K]> extends undefined ? { body?: undefined } : { body: RouteBodyInput<Api[K]> });

function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return "";
  const parts = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

/** Calls route `name` of the contract; resolves with its answer (undefined for 204). */
export async function call<K extends RouteName>(name: K, input: CallInput<K> = {} as CallInput<K>): Promise<RouteAnswer<Api[K]>> {
  const spec = API[name];
  const { params, query, body } = input as { params?: Record<string, string>; query?: Record<string, unknown>; body?: unknown };
  const path = fillPath(spec.path, (params ?? {}) as never) + queryString(query);
  return (await request(spec.method, path, body)) as RouteAnswer<Api[K]>;
}

export type DebugAction = "continue" | "step_over" | "step_into" | "step_out";

/** The job was no longer at the stop a command named: nothing happened, the view is behind. */
export function isStaleStop(err: unknown): boolean {
  return isRoutiluxError(err) && err.code === "STALE_STOP";
}
const DEBUG_ROUTE: Record<DebugAction, "debugContinue" | "debugStepOver" | "debugStepInto" | "debugStepOut"> = {
  continue: "debugContinue",
  step_over: "debugStepOver",
  step_into: "debugStepInto",
  step_out: "debugStepOut",
};

/** The calls the UI makes, by what they do. */
export const api = {
  /** The version of the program's flows being served and the last reload's error (routilux dev). */
  devStatus: () => call("devStatus"),
  /** Healthy, or degraded with the reasons (a database that cannot be written, a flow not restored, ...). */
  health: () => call("health"),
  flows: () => call("listFlows"),
  flow: (flowId: string) => call("getFlow", { params: { flow_id: flowId } }),
  flowBreakpoints: (flowId: string) => call("flowBreakpoints", { params: { flow_id: flowId } }),
  addFlowBreakpoint: (flowId: string, bp: BreakpointBody) => call("addFlowBreakpoint", { params: { flow_id: flowId }, body: bp }),
  patchFlowBreakpoint: (flowId: string, id: string, patch: BreakpointPatch) => call("patchFlowBreakpoint", { params: { flow_id: flowId, breakpoint_id: id }, body: patch }),
  removeFlowBreakpoint: (flowId: string, id: string) => call("removeFlowBreakpoint", { params: { flow_id: flowId, breakpoint_id: id } }),

  jobs: (q: { flow_id?: string; status?: JobStatus | ""; limit?: number; offset?: number } = {}) =>
    call("listJobs", { query: { flow_id: q.flow_id, status: q.status || undefined, limit: q.limit, offset: q.offset } }),
  startJob: (input: StartJobRequest) => call("startJob", { body: input }),
  job: (jobId: string) => call("getJob", { params: { job_id: jobId } }),
  /** The flow as the job ran it, and whether this server still serves it as such. */
  jobFlow: (jobId: string) => call("jobFlow", { params: { job_id: jobId } }),
  metrics: (jobId: string) => call("jobMetrics", { params: { job_id: jobId } }),
  trace: (jobId: string, q: { after_seq?: number; limit?: number } = {}) => call("jobTrace", { params: { job_id: jobId }, query: q }),
  /** A node's (or the job's) inputs and outputs, in full within the job's payload budget. */
  io: (jobId: string, q: { routine_id?: string; kind?: "input" | "output"; after_seq?: number; limit?: number } = {}) => call("jobIo", { params: { job_id: jobId }, query: q }),
  /** One trace event with its full payload. */
  event: (jobId: string, seq: number) => call("jobEvent", { params: { job_id: jobId, seq: String(seq) } }),
  jobBreakpoints: (jobId: string) => call("jobBreakpoints", { params: { job_id: jobId } }),
  addJobBreakpoint: (jobId: string, bp: BreakpointBody) => call("addJobBreakpoint", { params: { job_id: jobId }, body: bp }),
  patchJobBreakpoint: (jobId: string, id: string, patch: BreakpointPatch) => call("patchJobBreakpoint", { params: { job_id: jobId, breakpoint_id: id }, body: patch }),
  removeJobBreakpoint: (jobId: string, id: string) => call("removeJobBreakpoint", { params: { job_id: jobId, breakpoint_id: id } }),
  pause: (jobId: string) => call("debugPause", { params: { job_id: jobId } }),
  /** `stopNumber`: the stop shown when the user asked (as for `debug`); none while the job runs. */
  runTo: (jobId: string, routineId: string, options: { slotName?: string; stopNumber?: number } = {}) =>
    call("debugRunTo", { params: { job_id: jobId }, body: { routine_id: routineId, slot_name: options.slotName, stop_number: options.stopNumber } }),
  cancel: (jobId: string) => call("cancelJob", { params: { job_id: jobId } }),
  /**
   * Continue or step from stop `stopNumber` (the `paused_at.stop_number` on screen): if the job
   * has left that stop meanwhile the server changes nothing and answers STALE_STOP (isStaleStop).
   */
  debug: (jobId: string, action: DebugAction, stopNumber?: number) => call(DEBUG_ROUTE[action], { params: { job_id: jobId }, body: stopNumber === undefined ? {} : { stop_number: stopNumber } }),
  session: (jobId: string) => call("debugSession", { params: { job_id: jobId } }),
  variables: (jobId: string, frame = 0) => call("debugVariables", { params: { job_id: jobId }, query: frame ? { frame } : {} }),
  setVariable: (jobId: string, name: string, value: unknown, scope: "local" | "shared") =>
    call("putVariable", { params: { job_id: jobId, variable: name }, body: { value, scope } }),
  callStack: (jobId: string) => call("callStack", { params: { job_id: jobId } }),
  evaluate: (jobId: string, expression: string) => call("evaluate", { params: { job_id: jobId }, body: { expression } }),
  /** The job as it stood right after event `atSeq`. */
  stateAt: (jobId: string, atSeq: number) => call("jobStateAt", { params: { job_id: jobId }, query: { at_seq: atSeq } }),
  /** A new job of the same flow, beginning with the activation at `from_seq` (the original is never changed). */
  fork: (jobId: string, body: ForkRequest) => call("forkJob", { params: { job_id: jobId }, body }),
  /** Two runs of one flow compared, with their first divergence. */
  diff: (base: string, other: string) => call("jobDiff", { query: { base, other } }),
};

