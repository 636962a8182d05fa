import type { z } from "zod";
import type { Runtime } from "../../lib";
import { type ApiResponse, badRequest, HttpError } from "./errors";

export interface RouteContext<B = unknown, Q = unknown> {
  params: Record<string, string>;
  query: Q;
  body: B;
  runtime: Runtime;
}

export interface RouteDef {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** `/api/jobs/:job_id/...`; `:name` segments are ids checked against the id pattern. */
  path: string;
  summary: string;
  tag: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Other spellings of the same route (the document's `step_over` and the hyphenated `step-over`). */
  aliases?: string[];
  status?: number;
  handler: (ctx: RouteContext<never, never>) => unknown | Promise<unknown>;
}

const ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * JSON.parse reviver: a `__proto__` key anywhere in a body is refused. JSON.parse keeps it as an
 * own key, but any later copy (`{...x}`, `out[k] = v`) would set a prototype instead.
 */
function refuseProtoKey(key: string, value: unknown): unknown {
  if (key === "__proto__") throw new HttpError(400, "FORBIDDEN_KEY", "Key '__proto__' is not allowed in a request body");
  return value;
}

interface Compiled {
  def: RouteDef;
  segments: string[];
}

export class Router {
  private readonly compiled: Compiled[] = [];

  constructor(readonly routes: RouteDef[]) {
    for (const def of routes) {
      for (const path of [def.path, ...(def.aliases ?? [])]) this.compiled.push({ def, segments: path.split("/").filter(Boolean) });
    }
  }

  /** Finds the route; a path that exists with another method answers 405. */
  match(method: string, pathname: string): { def: RouteDef; params: Record<string, string> } {
    const parts = pathname.split("/").filter(Boolean).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        throw new HttpError(400, "BAD_PATH", "Malformed path");
      }
    });
    let pathMatched = false;
    for (const c of this.compiled) {
      if (c.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = c.segments[i] as string;
        const part = parts[i] as string;
        if (seg.startsWith(":")) params[seg.slice(1)] = part;
        else if (seg !== part) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      pathMatched = true;
      if (c.def.method !== method) continue;
      for (const [name, value] of Object.entries(params)) {
        if (!ID_RE.test(value)) throw new HttpError(400, "INVALID_ID", `Invalid ${name} '${value.slice(0, 140)}' (1-128 of letters, digits, '_', '.', ':' or '-')`);
      }
      return { def: c.def, params };
    }
    if (pathMatched) throw new HttpError(405, "METHOD_NOT_ALLOWED", `${method} is not allowed on ${pathname}`);
    throw new HttpError(404, "NOT_FOUND", `No API route ${method} ${pathname}`);
  }

  async run(def: RouteDef, params: Record<string, string>, search: URLSearchParams, bodyText: string | null, runtime: Runtime): Promise<ApiResponse> {
    let query: unknown = {};
    if (def.query) {
      // No prototype: a `__proto__` parameter stays an own key, so strict schemas refuse it.
      const raw: Record<string, string> = Object.create(null);
      for (const [k, v] of search) raw[k] = v;
      const parsed = def.query.safeParse(raw);
      if (!parsed.success) throw badRequest(parsed.error, "query");
      query = parsed.data;
    }
    let body: unknown;
    if (def.body) {
      let json: unknown = {};
      if (bodyText !== null && bodyText.trim() !== "") {
        try {
          json = JSON.parse(bodyText, refuseProtoKey);
        } catch (err) {
          if (err instanceof HttpError) throw err;
          throw new HttpError(400, "MALFORMED_JSON", `Malformed JSON body: ${(err as Error).message}`);
        }
      }
      const parsed = def.body.safeParse(json);
      if (!parsed.success) throw badRequest(parsed.error, "body");
      body = parsed.data;
    }
    const result = await def.handler({ params, query: query as never, body: body as never, runtime });
    if (result === undefined) return { status: def.status ?? 204 };
    return { status: def.status ?? 200, body: result };
  }
}
