/**
 * The browser's HTTP client: one `request` that turns every error answer into an `ApiError`
 * carrying the server's code and message (shown in place by the UI), and typed helpers per route.
 */
import type {
  Breakpoint,
  BreakpointInput,
  BreakpointPatch,
  CallFrame,
  FlowDetail,
  FlowSummary,
  JobBreakpoints,
  JobMetrics,
  JobSnapshot,
  JobStatus,
  JobSummary,
  SessionSnapshot,
  StepAnswer,
  TracePage,
  Variables,
} from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

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

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
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
  return json as T;
}

const enc = encodeURIComponent;
const qs = (q: Record<string, string | number | undefined>): string => {
  const parts = Object.entries(q).filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => `${enc(k)}=${enc(String(v))}`);
  return parts.length ? `?${parts.join("&")}` : "";
};

export interface StartJobInput {
  flow_id: string;
  entry_routine_id: string;
  entry_slot?: string;
  entry_params?: Record<string, unknown>;
  pause_on_start?: boolean;
}

export type DebugAction = "continue" | "step_over" | "step_into" | "step_out";

export const api = {
  flows: () => request<{ flows: FlowSummary[]; total: number }>("GET", "/api/flows"),
  flow: (flowId: string) => request<FlowDetail>("GET", `/api/flows/${enc(flowId)}`),
  flowBreakpoints: (flowId: string) => request<{ breakpoints: Breakpoint[]; total: number }>("GET", `/api/flows/${enc(flowId)}/breakpoints`),
  addFlowBreakpoint: (flowId: string, bp: Omit<BreakpointInput, "job_id" | "flow_id">) => request<Breakpoint>("POST", `/api/flows/${enc(flowId)}/breakpoints`, bp),
  patchFlowBreakpoint: (flowId: string, id: string, patch: BreakpointPatch) => request<Breakpoint>("PATCH", `/api/flows/${enc(flowId)}/breakpoints/${enc(id)}`, patch),
  removeFlowBreakpoint: (flowId: string, id: string) => request<null>("DELETE", `/api/flows/${enc(flowId)}/breakpoints/${enc(id)}`),

  jobs: (q: { flow_id?: string; status?: JobStatus | ""; limit?: number; offset?: number } = {}) =>
    request<{ jobs: JobSummary[]; total: number; limit: number; offset: number }>("GET", `/api/jobs${qs(q)}`),
  startJob: (input: StartJobInput) => request<{ job_id: string; flow_id: string; status: JobStatus; created_at: string }>("POST", "/api/jobs", input),
  job: (jobId: string) => request<JobSnapshot>("GET", `/api/jobs/${enc(jobId)}`),
  metrics: (jobId: string) => request<JobMetrics>("GET", `/api/jobs/${enc(jobId)}/metrics`),
  trace: (jobId: string, q: { after_seq?: number; limit?: number } = {}) => request<TracePage>("GET", `/api/jobs/${enc(jobId)}/trace${qs(q)}`),
  jobBreakpoints: (jobId: string) => request<JobBreakpoints>("GET", `/api/jobs/${enc(jobId)}/breakpoints`),
  addJobBreakpoint: (jobId: string, bp: Omit<BreakpointInput, "job_id" | "flow_id">) => request<Breakpoint>("POST", `/api/jobs/${enc(jobId)}/breakpoints`, bp),
  patchJobBreakpoint: (jobId: string, id: string, patch: BreakpointPatch) => request<Breakpoint>("PATCH", `/api/jobs/${enc(jobId)}/breakpoints/${enc(id)}`, patch),
  removeJobBreakpoint: (jobId: string, id: string) => request<null>("DELETE", `/api/jobs/${enc(jobId)}/breakpoints/${enc(id)}`),
  pause: (jobId: string) => request<{ job_id: string; status: JobStatus }>("POST", `/api/jobs/${enc(jobId)}/debug/pause`),
  cancel: (jobId: string) => request<{ job_id: string; status: JobStatus }>("POST", `/api/jobs/${enc(jobId)}/cancel`),
  debug: (jobId: string, action: DebugAction) => request<StepAnswer>("POST", `/api/jobs/${enc(jobId)}/debug/${action}`),
  session: (jobId: string) => request<SessionSnapshot>("GET", `/api/jobs/${enc(jobId)}/debug/session`),
  variables: (jobId: string) => request<Variables>("GET", `/api/jobs/${enc(jobId)}/debug/variables`),
  setVariable: (jobId: string, name: string, value: unknown, scope: "local" | "shared") =>
    request<{ variable: string; value: unknown; scope: string }>("PUT", `/api/jobs/${enc(jobId)}/debug/variables/${enc(name)}`, { value, scope }),
  callStack: (jobId: string) => request<{ frames: CallFrame[] }>("GET", `/api/jobs/${enc(jobId)}/debug/call_stack`),
  evaluate: (jobId: string, expression: string) => request<{ result: unknown }>("POST", `/api/jobs/${enc(jobId)}/debug/evaluate`, { expression }),
};
