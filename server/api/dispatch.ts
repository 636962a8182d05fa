import { currentRuntime } from "../../lib/runtime/current";
import type { Runtime } from "../../lib/runtime/runtime";
import { API, isRoutiluxError, RoutiluxError } from "../../lib/wire";
import { checkKey } from "./auth";
import { type ApiResponse, errorResponse, toErrorResponse } from "./errors";
import { RouteTable } from "./router";
import { handlers } from "./routes";

export const MAX_BODY_BYTES = 1024 * 1024;

const table = new RouteTable(handlers);
/** Checks every answer against its schema before sending it (tests and development turn it on). */
const checkAnswers = process.env.ROUTILUX_CHECK_WIRE === "1";

export interface ApiRequest {
  method: string;
  url: URL;
  /** Header lookup (lower-case names). */
  header(name: string): string | null;
  /** Reads the body; throws a `too_large` error past the limit. */
  readBody(limit: number): Promise<string | null>;
}

function presentedKey(req: ApiRequest): string | null {
  const key = req.header("x-api-key");
  if (key) return key;
  const auth = req.header("authorization");
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  return m ? (m[1] as string).trim() : null;
}

/** One API request → one response: auth, routing, validation, errors. */
export async function dispatch(req: ApiRequest, runtime?: Runtime, options: { trusted?: boolean } = {}): Promise<ApiResponse> {
  try {
    const pathname = req.url.pathname.replace(/\/+$/, "") || "/";
    // trusted: relayed by a server of the cluster, which checked the key itself.
    if (pathname !== API.health.path && options.trusted !== true) {
      const auth = checkKey(presentedKey(req));
      if (!auth.ok) return errorResponse(auth.status, auth.status === 401 ? "UNAUTHORIZED" : "FORBIDDEN", auth.message);
    }
    const matched = table.match(req.method, pathname);
    const body = matched.spec.body ? await req.readBody(MAX_BODY_BYTES) : null;
    const rt = runtime ?? currentRuntime();
    // A job held by a cluster's worker: its process answers (the same dispatch runs there).
    const jobId = matched.params.job_id;
    if (jobId !== undefined && rt.remote?.holds(jobId)) {
      const relayed = await rt.remote.relay(jobId, { method: req.method, url: `${req.url.pathname}${req.url.search}`, body });
      if (relayed !== null) return relayed;
    }
    const res = await table.run(matched, req.url.searchParams, body, rt);
    // A change for the whole cluster (a flow breakpoint) is answered once every process can see it.
    if (req.method !== "GET" && rt.remote) await rt.remote.settle();
    if (checkAnswers && matched.spec.response !== null) {
      const parsed = matched.spec.response.safeParse(res.body);
      if (!parsed.success) {
        console.error(`[wire] ${matched.name} answered outside its contract:`, JSON.stringify(parsed.error.issues.slice(0, 5)));
        return errorResponse(500, "WIRE_CONTRACT_VIOLATION", `${matched.name} answered outside its contract: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
      }
    }
    return res;
  } catch (err) {
    const res = toErrorResponse(err);
    // A 405 says which methods the path has (RFC 9110).
    const allow = isRoutiluxError(err) && err.kind === "method_not_allowed" ? (err.details as { allow?: string[] } | undefined)?.allow : undefined;
    return allow ? { ...res, headers: { ...res.headers, allow: allow.join(", ") } } : res;
  }
}

/** Reads a web-standard body stream up to `limit` bytes. */
export async function readLimited(stream: ReadableStream<Uint8Array> | null, declaredLength: string | null, limit: number): Promise<string | null> {
  const tooLarge = () => new RoutiluxError("PAYLOAD_TOO_LARGE", `Body larger than ${limit} bytes`, { kind: "too_large" });
  if (declaredLength !== null && Number(declaredLength) > limit) throw tooLarge();
  if (stream === null) return null;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
