/**
 * What the custom server answers itself, before Next sees a request: a foreign Host, Origin or
 * body type (access.ts), a path that cannot be percent-decoded (Next answers it with a bare 500)
 * and a method nothing here serves (Next renders a dynamic page for any method, and answers an
 * unknown one on /api with a 500).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Runtime } from "../lib/runtime/runtime";
import { type AccessPolicy, refuseApiRequest, refuseHost } from "./access";
import { dispatch } from "./api/dispatch";

/** The methods the /api route handler exports (Next answers OPTIONS itself). */
const API_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** Pages and their assets are only read. */
const PAGE_METHODS = new Set(["GET", "HEAD"]);

/** Answers `req` and returns true when it is one of those; false hands it to Next. */
export function gate(req: IncomingMessage, res: ServerResponse, runtime: Runtime, policy: AccessPolicy): boolean {
  const url = req.url ?? "/";
  const path = url.split("?")[0] as string;
  const method = req.method ?? "GET";
  const api = path === "/api" || path.startsWith("/api/");
  const refusal = api ? refuseApiRequest(req, policy) : refuseHost(req.headers.host, policy);
  if (refusal !== null) {
    if (api) json(res, refusal.status, { error: { code: refusal.code, message: refusal.message } });
    else text(res, refusal.status, `${refusal.message}\n`);
    return true;
  }
  if (!decodable(path)) {
    if (api) json(res, 400, { error: { code: "BAD_PATH", message: "Malformed path: it is not valid percent-encoding" } });
    else text(res, 400, "Bad request: the path is not valid percent-encoding.\n");
    return true;
  }
  if (api) {
    if (API_METHODS.has(method)) return false;
    // The API's own answer: 405 with the path's methods, or 404 for a path it does not have.
    void dispatch({ method, url: new URL(url, "http://localhost"), header: (name) => headerOf(req, name), readBody: async () => null }, runtime).then((answer) => {
      json(res, answer.status, answer.body, answer.headers);
    });
    return true;
  }
  if (path.startsWith("/socket.io/") || PAGE_METHODS.has(method)) return false;
  text(res, 405, `Method not allowed: pages are read with GET or HEAD.\n`, { allow: "GET, HEAD" });
  return true;
}

function decodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

function headerOf(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, { ...headers, "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(text) }).end(text);
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) }).end(body);
}
