/**
 * A local debugger no web page can drive: with no API key, a page on another origin must not
 * create flows, start or cancel jobs, or open a socket; a DNS-rebound name must not be served;
 * the UI's own (same-origin) requests pass.
 */
import { request as httpRequest } from "node:http";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startServer, type TestServer } from "../helpers/server";

let server: TestServer;

interface RawAnswer {
  status: number;
  body: string;
}

/** A request with exactly the headers given (fetch would not send a foreign Host). */
function raw(srv: TestServer, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const all = body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) };
    const req = httpRequest({ host: "127.0.0.1", port: srv.port, method, path, headers: all }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { text += d; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const code = (a: RawAnswer): string => (JSON.parse(a.body) as { error: { code: string } }).error.code;

/** Opens a raw WebSocket with the given headers: "open", or the refused handshake's status. */
function openWs(srv: TestServer, path: string, headers: Record<string, string>): Promise<{ open: true } | { status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${srv.wsUrl}${path}`, { headers });
    ws.on("open", () => {
      ws.terminate();
      resolve({ open: true });
    });
    ws.on("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on("error", () => {});
  });
}

/** Connects socket.io with the given headers over a transport: "connected" or the error's message. */
function openSocketIo(srv: TestServer, transport: "websocket" | "polling", headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const socket = io(srv.url, { path: "/socket.io/", transports: [transport], extraHeaders: headers, reconnection: false, timeout: 10_000 });
    socket.on("connect", () => {
      socket.close();
      resolve("connected");
    });
    socket.on("connect_error", (err) => {
      socket.close();
      resolve(`refused: ${err.message}`);
    });
  });
}

const flowBody = (id: string) => JSON.stringify({ flow_id: id, dsl: "routines:\n  a:\n    class: passthrough\n" });

beforeAll(async () => {
  server = await startServer();
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

describe("with no API key", () => {
  it("a cross-origin POST (text/plain, the kind a page sends without asking) is refused and changes nothing", async () => {
    const evil = { origin: "http://evil.example", "content-type": "text/plain" };
    const created = await raw(server, "POST", "/api/flows", evil, flowBody("from_evil"));
    expect(created.status).toBe(403);
    expect(code(created)).toBe("ORIGIN_NOT_ALLOWED");
    // Even as JSON, and for bodiless commands (cancel), another origin is refused.
    expect((await raw(server, "POST", "/api/flows", { origin: "http://evil.example", "content-type": "application/json" }, flowBody("from_evil"))).status).toBe(403);
    const job = await fetch(`${server.url}/api/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 200, interval_ms: 20 } }),
    });
    const jobId = ((await job.json()) as { job_id: string }).job_id;
    const cancel = await raw(server, "POST", `/api/jobs/${jobId}/cancel`, { origin: "http://evil.example" });
    expect(cancel.status).toBe(403);
    expect(((await (await fetch(`${server.url}/api/jobs/${jobId}`)).json()) as { status: string }).status).not.toBe("cancelled");
    // An opaque origin (a sandboxed frame, a file) is not this server's either.
    expect((await raw(server, "POST", `/api/jobs/${jobId}/cancel`, { origin: "null" })).status).toBe(403);
    expect((await fetch(`${server.url}/api/flows/from_evil`)).status).toBe(404);
    await fetch(`${server.url}/api/jobs/${jobId}/cancel`, { method: "POST" });
  });

  it("a body that is not JSON is refused (415) even without an Origin", async () => {
    const res = await raw(server, "POST", "/api/flows", { "content-type": "text/plain" }, flowBody("plain"));
    expect(res.status).toBe(415);
    expect(code(res)).toBe("UNSUPPORTED_MEDIA_TYPE");
    const form = await raw(server, "POST", "/api/flows", { "content-type": "application/x-www-form-urlencoded" }, "flow_id=x");
    expect(form.status).toBe(415);
    expect((await fetch(`${server.url}/api/flows/plain`)).status).toBe(404);
  });

  it("the UI's own requests pass: same origin, JSON, by 127.0.0.1 or localhost", async () => {
    const own = await raw(server, "POST", "/api/flows", { origin: server.url, host: `127.0.0.1:${server.port}`, "content-type": "application/json" }, flowBody("same_origin"));
    expect(own.status).toBe(201);
    const local = await raw(server, "DELETE", "/api/flows/same_origin", { origin: `http://localhost:${server.port}`, host: `localhost:${server.port}` });
    expect(local.status).toBe(204);
    // Non-browser clients send no Origin.
    expect((await raw(server, "POST", "/api/flows", { "content-type": "application/json; charset=utf-8" }, flowBody("no_origin"))).status).toBe(201);
    // Reading needs no Origin check: the browser does not let another origin read the answer.
    expect((await raw(server, "GET", "/api/flows", { origin: "http://evil.example" })).status).toBe(200);
  });

  it("a foreign Host (DNS rebinding) is refused on the API and on pages; loopback names and IP literals pass", async () => {
    const api = await raw(server, "GET", "/api/jobs", { host: `evil.example:${server.port}` });
    expect(api.status).toBe(403);
    expect(code(api)).toBe("HOST_NOT_ALLOWED");
    const page = await raw(server, "GET", "/", { host: "rebind.evil.example" });
    expect(page.status).toBe(403);
    expect(page.body).toContain("ROUTILUX_ALLOWED_HOSTS");
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, `[::1]:${server.port}`, "app.localhost"]) {
      expect((await raw(server, "GET", "/api/health", { host })).status).toBe(200);
    }
  });

  it("a raw WebSocket from another origin or for a foreign Host is refused; the own origin opens", async () => {
    const path = "/api/ws/flows/data_processing/monitor";
    expect(await openWs(server, path, { origin: "http://evil.example" })).toEqual({ status: 403 });
    expect(await openWs(server, path, { host: `evil.example:${server.port}` })).toEqual({ status: 403 });
    expect(await openWs(server, path, { origin: server.url })).toEqual({ open: true });
    expect(await openWs(server, path, {})).toEqual({ open: true });
  });

  it("a socket.io handshake from another origin is refused on both transports; the own origin connects", async () => {
    for (const transport of ["websocket", "polling"] as const) {
      expect(await openSocketIo(server, transport, { origin: "http://evil.example" })).toMatch(/^refused/);
      expect(await openSocketIo(server, transport, { origin: server.url })).toBe("connected");
    }
  });
});

describe("configuration", () => {
  it("configured origins and hosts are accepted (a reverse proxy in front)", async () => {
    const proxied = await startServer({ ROUTILUX_ALLOWED_ORIGINS: "https://debug.example.com", ROUTILUX_ALLOWED_HOSTS: "debug.example.com" });
    try {
      const headers = { origin: "https://debug.example.com", host: "debug.example.com", "content-type": "application/json" };
      expect((await raw(proxied, "POST", "/api/flows", headers, flowBody("via_proxy"))).status).toBe(201);
      expect((await raw(proxied, "GET", "/", { host: "debug.example.com" })).status).toBe(200);
      expect(await openWs(proxied, "/api/ws/flows/via_proxy/monitor", { origin: "https://debug.example.com" })).toEqual({ open: true });
      expect((await raw(proxied, "POST", "/api/flows", { ...headers, origin: "https://other.example.com" }, flowBody("other"))).status).toBe(403);
    } finally {
      await proxied.stop();
    }
  }, 90_000);

  it("a blank API key refuses to start instead of turning auth off", async () => {
    const blanks: Record<string, string>[] = [{ ROUTILUX_API_KEY: "   " }, { ROUTILUX_API_KEY: "" }, { ROUTILUX_API_KEYS: "one, ,two" }];
    for (const env of blanks) {
      const failure = await startServer(env).then(
        async (s) => {
          await s.stop();
          return "started";
        },
        (err: Error) => err.message,
      );
      expect(failure).toMatch(/server exited \(1\)/);
      expect(failure).toMatch(/ROUTILUX_API_KEYS? (is set but blank|has a blank key)/);
    }
  }, 90_000);

  it("listening beyond loopback without a key warns", async () => {
    const open = await startServer({ HOST: "0.0.0.0" });
    try {
      expect(open.output()).toContain("without an API key");
      expect((await fetch(`${open.url}/api/health`)).status).toBe(200);
    } finally {
      await open.stop();
    }
  }, 90_000);
});
