/**
 * Who may talk to this server from a browser. With no API key (the default for local use) the
 * only thing between a web page the developer happens to open and the debugger is the browser's
 * same-origin policy, which does not stop a cross-site `text/plain` POST, a WebSocket from another
 * origin, or a DNS-rebound name pointing at 127.0.0.1. So:
 * - the `Host` header must name this server: a loopback name, an IP literal (a rebinding attack
 *   needs a domain name), the host it listens on, or one configured (`ROUTILUX_ALLOWED_HOSTS`);
 * - a request that changes state, and every WebSocket handshake, that carries an `Origin` must
 *   come from this server's own origin or a configured one (`ROUTILUX_ALLOWED_ORIGINS`); clients
 *   that are not browsers send none and pass;
 * - a body that changes state must be JSON, which a page cannot send cross-site without a
 *   preflight this server never answers.
 */
import { isIP } from "node:net";
import { RoutiluxError } from "../lib/wire";

export interface AccessOptions {
  /** Host names (without port) accepted besides loopback names and IP literals; `*` accepts any. */
  allowedHosts?: readonly string[];
  /** Origins (`scheme://host[:port]`) accepted besides the server's own; `*` accepts any. */
  allowedOrigins?: readonly string[];
}

export interface AccessPolicy {
  readonly anyHost: boolean;
  readonly hosts: ReadonlySet<string>;
  readonly anyOrigin: boolean;
  readonly origins: ReadonlySet<string>;
}

/** A refusal: the HTTP status, the error code and a message that says what to configure. */
export interface Refusal {
  status: 403 | 415;
  code: "HOST_NOT_ALLOWED" | "ORIGIN_NOT_ALLOWED" | "UNSUPPORTED_MEDIA_TYPE";
  message: string;
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1"]);
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", ""]);

/** A comma-separated environment list, blanks dropped. */
export function envList(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** The policy for a server listening on `hostname`, from options or the environment. */
export function accessPolicy(hostname: string, options: AccessOptions = {}, env: NodeJS.ProcessEnv = process.env): AccessPolicy {
  const hostList = options.allowedHosts ?? envList(env.ROUTILUX_ALLOWED_HOSTS);
  const originList = options.allowedOrigins ?? envList(env.ROUTILUX_ALLOWED_ORIGINS);
  const hosts = new Set(hostList.map((h) => bareHost(h)));
  if (!WILDCARD_HOSTS.has(hostname)) hosts.add(bareHost(hostname));
  const origins = new Set<string>();
  for (const o of originList) {
    if (o === "*") continue;
    const normal = normalOrigin(o);
    if (normal === null) throw new RoutiluxError("BAD_CONFIGURATION", `ROUTILUX_ALLOWED_ORIGINS: '${o}' is not an origin (scheme://host[:port])`, { kind: "bad_request" });
    origins.add(normal);
  }
  return { anyHost: hosts.has("*"), hosts, anyOrigin: originList.includes("*"), origins };
}

/** `Example.com:80` → `example.com`; `[::1]:8765` → `::1`. */
function bareHost(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  const colon = h.indexOf(":");
  return colon >= 0 && h.indexOf(":", colon + 1) < 0 ? h.slice(0, colon) : h;
}

function normalOrigin(origin: string): string | null {
  try {
    const url = new URL(origin);
    return url.origin === "null" ? null : url.origin;
  } catch {
    return null;
  }
}

/** Why a `Host` header is refused, or null. A request without one is not a browser's. */
export function refuseHost(host: string | undefined, policy: AccessPolicy): Refusal | null {
  if (host === undefined || policy.anyHost) return null;
  const name = bareHost(host);
  if (LOOPBACK_NAMES.has(name) || name.endsWith(".localhost") || isIP(name) !== 0 || policy.hosts.has(name)) return null;
  return {
    status: 403,
    code: "HOST_NOT_ALLOWED",
    message: `Host '${host}' is not this server's: add it to ROUTILUX_ALLOWED_HOSTS to serve it under that name`,
  };
}

/** Why an `Origin` is refused, or null: none, the request's own host, or a configured one. */
export function refuseOrigin(origin: string | undefined, host: string | undefined, policy: AccessPolicy): Refusal | null {
  if (origin === undefined || policy.anyOrigin) return null;
  const normal = normalOrigin(origin);
  if (normal !== null) {
    if (host !== undefined && new URL(normal).host === host.trim().toLowerCase()) return null;
    if (policy.origins.has(normal)) return null;
  }
  return {
    status: 403,
    code: "ORIGIN_NOT_ALLOWED",
    message: `Origin '${origin}' may not use this server: add it to ROUTILUX_ALLOWED_ORIGINS to allow it`,
  };
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Methods that change state. */
export const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

interface HeaderSource {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * Why an API request is refused, or null: a foreign Host; for state-changing methods a foreign
 * Origin or a body that is not JSON.
 */
export function refuseApiRequest(req: HeaderSource, policy: AccessPolicy): Refusal | null {
  const host = one(req.headers.host);
  const hostRefusal = refuseHost(host, policy);
  if (hostRefusal !== null) return hostRefusal;
  if (!STATE_CHANGING.has(req.method ?? "GET")) return null;
  const originRefusal = refuseOrigin(one(req.headers.origin), host, policy);
  if (originRefusal !== null) return originRefusal;
  const length = one(req.headers["content-length"]);
  const hasBody = (length !== undefined && length !== "0") || one(req.headers["transfer-encoding"]) !== undefined;
  if (hasBody && !JSON_TYPE.test(one(req.headers["content-type"]) ?? "")) {
    return { status: 415, code: "UNSUPPORTED_MEDIA_TYPE", message: "A request body must be JSON (Content-Type: application/json)" };
  }
  return null;
}

/** Why a WebSocket or socket.io handshake is refused, or null: a foreign Host or Origin. */
export function refuseHandshake(req: HeaderSource, policy: AccessPolicy): Refusal | null {
  const host = one(req.headers.host);
  return refuseHost(host, policy) ?? refuseOrigin(one(req.headers.origin), host, policy);
}
