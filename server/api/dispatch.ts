import { getRuntime, type Runtime } from "../../lib";
import { checkKey } from "./auth";
import { type ApiResponse, errorResponse, HttpError, toErrorResponse } from "./errors";
import { openApiDocument } from "./openapi";
import { Router } from "./router";
import { routes } from "./routes";

export const MAX_BODY_BYTES = 1024 * 1024;

const router = new Router(routes);
let openApiCache: Record<string, unknown> | null = null;

export interface ApiRequest {
  method: string;
  url: URL;
  /** Header lookup (lower-case names). */
  header(name: string): string | null;
  /** Reads the body; throws HttpError(413) past the limit. */
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
export async function dispatch(req: ApiRequest, runtime: Runtime = getRuntime()): Promise<ApiResponse> {
  try {
    const pathname = req.url.pathname.replace(/\/+$/, "") || "/";
    if (pathname !== "/api/health") {
      const auth = checkKey(presentedKey(req));
      if (!auth.ok) return errorResponse(auth.status, auth.status === 401 ? "UNAUTHORIZED" : "FORBIDDEN", auth.message);
    }
    if (pathname === "/api/openapi.json" && req.method === "GET") {
      openApiCache ??= openApiDocument(routes);
      return { status: 200, body: openApiCache };
    }
    const { def, params } = router.match(req.method, pathname);
    const body = def.body ? await req.readBody(MAX_BODY_BYTES) : null;
    return await router.run(def, params, req.url.searchParams, body, runtime);
  } catch (err) {
    return toErrorResponse(err);
  }
}

/** Reads a web-standard body stream up to `limit` bytes. */
export async function readLimited(stream: ReadableStream<Uint8Array> | null, declaredLength: string | null, limit: number): Promise<string | null> {
  if (declaredLength !== null && Number(declaredLength) > limit) throw new HttpError(413, "PAYLOAD_TOO_LARGE", `Body larger than ${limit} bytes`);
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
      throw new HttpError(413, "PAYLOAD_TOO_LARGE", `Body larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
