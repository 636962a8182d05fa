/**
 * Matches a request to a route of the contract (lib/wire `API`), parses its query and body with the
 * route's schemas and calls its handler with typed path parameters, query and body.
 */
import type { Runtime } from "../../lib/runtime/runtime";
import {
  type Api,
  API,
  ID_RULE,
  isId,
  type RouteAnswer,
  type RouteBody,
  type RouteName,
  type RouteParams,
  type RouteQuery,
  type RouteSpec,
  RoutiluxError,
  shownId,
} from "../../lib/wire";
import { badRequest } from "./errors";

export interface RouteContext<R extends RouteSpec> {
  params: RouteParams<R>;
  query: RouteQuery<R>;
  body: RouteBody<R>;
  runtime: Runtime;
}

/** A handler's answer, checked against the route's schema by the compiler; 204 routes answer nothing. */
type HandlerResult<R extends RouteSpec> = R["response"] extends null ? Promise<void> | void : RouteAnswer<R> | Promise<RouteAnswer<R>>;
export type RouteHandler<R extends RouteSpec> = (ctx: RouteContext<R>) => HandlerResult<R>;

/** One handler per route of the contract (the compiler checks that none is missing). */
export type RouteHandlers = { [K in RouteName]: RouteHandler<Api[K]> };

export interface Matched {
  name: RouteName;
  spec: RouteSpec;
  params: Record<string, string>;
}

/**
 * JSON.parse reviver: a `__proto__` key anywhere in a body is refused. JSON.parse keeps it as an
 * own key, but any later copy (`{...x}`, `out[k] = v`) would set a prototype instead.
 */
function refuseProtoKey(key: string, value: unknown): unknown {
  if (key === "__proto__") throw new RoutiluxError("FORBIDDEN_KEY", "Key '__proto__' is not allowed in a request body", { kind: "bad_request" });
  return value;
}

interface Compiled {
  name: RouteName;
  spec: RouteSpec;
  segments: string[];
}

export class RouteTable {
  private readonly compiled: Compiled[] = [];

  constructor(private readonly handlers: RouteHandlers) {
    for (const name of Object.keys(API) as RouteName[]) {
      const spec: RouteSpec = API[name];
      for (const path of [spec.path, ...(spec.aliases ?? [])]) this.compiled.push({ name, spec, segments: path.split("/").filter(Boolean) });
    }
  }

  /**
   * Finds the route; a path that exists with another method answers 405 (its `details.allow` lists
   * the methods it has). HEAD is GET without the body (the HTTP layer drops it).
   */
  match(requestMethod: string, pathname: string): Matched {
    const method = requestMethod === "HEAD" ? "GET" : requestMethod;
    const parts = pathname
      .split("/")
      .filter(Boolean)
      .map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          throw new RoutiluxError("BAD_PATH", "Malformed path", { kind: "bad_request" });
        }
      });
    const allow = new Set<string>();
    for (const c of this.compiled) {
      const params = matchSegments(c.segments, parts);
      if (params === null) continue;
      allow.add(c.spec.method);
      if (c.spec.method !== method) continue;
      for (const [name, value] of Object.entries(params)) {
        if (!isId(value)) throw new RoutiluxError("INVALID_ID", `Invalid ${name} '${shownId(value)}' (${ID_RULE})`, { kind: "bad_request" });
      }
      return { name: c.name, spec: c.spec, params };
    }
    if (allow.size > 0) {
      if (allow.has("GET")) allow.add("HEAD");
      throw new RoutiluxError("METHOD_NOT_ALLOWED", `${shownMethod(requestMethod)} is not allowed on ${pathname}`, { kind: "method_not_allowed", details: { allow: [...allow].sort() } });
    }
    throw new RoutiluxError("NOT_FOUND", `No API route ${shownMethod(requestMethod)} ${pathname}`, { kind: "not_found" });
  }

  /** Parses query and body with the route's schemas and runs its handler; the answer and its status. */
  async run(m: Matched, search: URLSearchParams, bodyText: string | null, runtime: Runtime): Promise<{ status: number; body?: unknown }> {
    const { spec } = m;
    let query: unknown;
    if (spec.query) {
      // No prototype: a `__proto__` parameter stays an own key, so strict schemas refuse it.
      const raw: Record<string, string> = Object.create(null);
      for (const [k, v] of search) raw[k] = v;
      const parsed = spec.query.safeParse(raw);
      if (!parsed.success) throw badRequest(parsed.error, "query");
      query = parsed.data;
    }
    let body: unknown;
    if (spec.body) {
      let json: unknown = {};
      if (bodyText !== null && bodyText.trim() !== "") {
        try {
          json = JSON.parse(bodyText, refuseProtoKey);
        } catch (err) {
          if (err instanceof RoutiluxError) throw err;
          throw new RoutiluxError("MALFORMED_JSON", `Malformed JSON body: ${(err as Error).message}`, { kind: "bad_request" });
        }
      }
      const parsed = spec.body.safeParse(json);
      if (!parsed.success) throw badRequest(parsed.error, "body");
      body = parsed.data;
    }
    const handler = this.handlers[m.name] as RouteHandler<RouteSpec>;
    const result = await handler({ params: m.params as never, query: query as never, body: body as never, runtime });
    if (spec.response === null) return { status: spec.status ?? 204 };
    return { status: spec.status ?? 200, body: result };
  }
}

/** The path parameters when `parts` fit `segments`, else null. */
function matchSegments(segments: string[], parts: string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const seg = segments[i] as string;
    const part = parts[i] as string;
    if (seg.startsWith(":")) params[seg.slice(1)] = part;
    else if (seg !== part) return null;
  }
  return params;
}

/** A method as it may appear in an answer (a client can send any token). */
function shownMethod(method: string): string {
  return method.length <= 16 && /^[A-Za-z-]+$/.test(method) ? method : "This method";
}
