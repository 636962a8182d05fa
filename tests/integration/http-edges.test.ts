/**
 * The edges of HTTP a hostile or clumsy client reaches: methods nothing serves, paths that cannot
 * be decoded, HEAD, graph edits with the DSL's reserved keys, many breakpoints at once, and the
 * debug session of a finished job.
 */
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api as apiOn, type ApiAnswer, until } from "../helpers/http";
import { startServer, type TestServer } from "../helpers/server";

let server: TestServer;
const api = (method: string, path: string, body?: unknown): Promise<ApiAnswer> => apiOn(server, method, path, body);

/** A raw request (fetch refuses TRACE and sends paths normalised). */
function raw(method: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port: server.port, method, path }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { body += d; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  server = await startServer();
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

describe("methods and paths", () => {
  it("an unknown method on an API path is 405 with the path's methods, as JSON", async () => {
    for (const method of ["TRACE", "PROPFIND"]) {
      const res = await raw(method, "/api/jobs");
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe("DELETE, GET, HEAD, POST");
      const body = JSON.parse(res.body) as { error: { code: string; details: { allow: string[] } } };
      expect(body.error.code).toBe("METHOD_NOT_ALLOWED");
      expect(body.error.details.allow).toEqual(["DELETE", "GET", "HEAD", "POST"]);
    }
  });

  it("an unknown method on a path the API does not have is 404", async () => {
    const res = await raw("TRACE", "/api/nothing-here");
    expect(res.status).toBe(404);
    expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
  });

  it("a known method on the wrong API route is 405 with Allow", async () => {
    const res = await raw("PUT", "/api/jobs");
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe("DELETE, GET, HEAD, POST");
  });

  it("HEAD is answered like GET, without a body", async () => {
    const res = await raw("HEAD", "/api/jobs");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain("application/json");
    expect(res.body).toBe("");
    const page = await raw("HEAD", "/");
    expect(page.status).toBe(200);
    expect(page.body).toBe("");
  });

  it("a path that is not valid percent-encoding is 400, on the API and on pages", async () => {
    const apiRes = await raw("GET", "/api/jobs/%E0%A4%A");
    expect(apiRes.status).toBe(400);
    expect((JSON.parse(apiRes.body) as { error: { code: string } }).error.code).toBe("BAD_PATH");
    for (const page of ["/jobs/%E0%A4%A", "/flows/%E0%A4%A"]) {
      const res = await raw("GET", page);
      expect(res.status).toBe(400);
      expect(res.body).toContain("percent-encoding");
    }
  });

  it("pages are only read: other methods are 405 with Allow: GET, HEAD", async () => {
    for (const [method, path] of [["POST", "/flows/x"], ["TRACE", "/"], ["DELETE", "/jobs"]] as const) {
      const res = await raw(method, path);
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe("GET, HEAD");
    }
    // The server still serves normally afterwards.
    expect((await raw("GET", "/api/health")).status).toBe(200);
  });
});

describe("graph edits follow the DSL's key rules", () => {
  it("refuses reserved routine ids, config keys and mapping keys, so what is served can be exported and imported again", async () => {
    expect((await api("POST", "/api/flows", { flow_id: "edits" })).status).toBe(201);
    for (const routine_id of ["constructor", "prototype", "__proto__"]) {
      const res = await api("POST", "/api/flows/edits/routines", { routine_id, type: "passthrough" });
      expect(res.status).toBe(400);
      expect((res.json.error as { code: string }).code).toBe("VALIDATION_ERROR");
    }
    const config = await fetch(`${server.url}/api/flows/edits/routines`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"routine_id":"f","type":"filter","config":{"condition":"x > 1","constructor":{"a":1}}}',
    });
    expect(config.status).toBe(400);
    expect((await api("POST", "/api/flows/edits/routines", { routine_id: "a", type: "passthrough" })).status).toBe(201);
    expect((await api("POST", "/api/flows/edits/routines", { routine_id: "b", type: "passthrough" })).status).toBe(201);
    const mapping = await api("POST", "/api/flows/edits/connections", { source_routine: "a", source_event: "output", target_routine: "b", target_slot: "input", param_mapping: { prototype: "x" } });
    expect(mapping.status).toBe(400);
    const mappedTo = await api("POST", "/api/flows/edits/connections", { source_routine: "a", source_event: "output", target_routine: "b", target_slot: "input", param_mapping: { x: "constructor" } });
    expect(mappedTo.status).toBe(400);
    expect((await api("POST", "/api/flows/edits/connections", { source_routine: "a", source_event: "output", target_routine: "b", target_slot: "input", param_mapping: { x: "y" } })).status).toBe(201);
    // Nothing refused was kept, and the edited flow round-trips through its DSL.
    const detail = await api("GET", "/api/flows/edits");
    expect(Object.keys(detail.json.routines as object).sort()).toEqual(["a", "b"]);
    const dsl = await api("GET", "/api/flows/edits/dsl?format=yaml");
    expect((await api("DELETE", "/api/flows/edits")).status).toBe(204);
    const copy = await api("POST", "/api/flows", { flow_id: "edits", dsl: dsl.json.dsl });
    expect(copy.json.error ?? null).toBeNull();
    expect(copy.status).toBe(201);
    expect(copy.json.routines).toEqual(detail.json.routines);
    expect(copy.json.connections).toEqual(detail.json.connections);
  });
});

describe("many flow breakpoints at once", () => {
  it("an array body sets them all (201, a list)", async () => {
    const body = Array.from({ length: 500 }, (_, i) => ({ routine_id: "process", condition: `len(data) > ${i}` }));
    const res = await api("POST", "/api/flows/data_processing/breakpoints", body);
    expect(res.status).toBe(201);
    expect(res.json.total).toBe(500);
    const list = res.json.breakpoints as { breakpoint_id: string; flow_id: string; condition: string }[];
    expect(list[499]).toMatchObject({ flow_id: "data_processing", condition: "len(data) > 499" });
    expect(new Set(list.map((b) => b.breakpoint_id)).size).toBe(500);
    const all = await api("GET", "/api/flows/data_processing/breakpoints");
    expect(all.json.total).toBe(500);
    for (const b of list) await api("DELETE", `/api/flows/data_processing/breakpoints/${b.breakpoint_id}`);
    expect((await api("GET", "/api/flows/data_processing/breakpoints")).json.total).toBe(0);
  });

  it("one bad entry refuses the whole array, names its index, and sets none", async () => {
    const body = [{ routine_id: "process" }, { routine_id: "ingest" }, { routine_id: "no_such_routine" }, { routine_id: "validate" }];
    const res = await api("POST", "/api/flows/data_processing/breakpoints", body);
    expect(res.status).toBe(404);
    const error = res.json.error as { message: string; details: { index: number } };
    expect(error.details.index).toBe(2);
    expect(error.message).toContain("[2]");
    expect((await api("GET", "/api/flows/data_processing/breakpoints")).json.total).toBe(0);
    // An empty array and one over the cap are refused by the schema.
    expect((await api("POST", "/api/flows/data_processing/breakpoints", [])).status).toBe(400);
  });
});

describe("the debug session of a finished job", () => {
  it("is reported as ended", async () => {
    const job = await api("POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_slot: "trigger", entry_params: { data: [1, 2] } });
    expect(job.status).toBe(201);
    const jobId = job.json.job_id as string;
    await until(() => api("GET", `/api/jobs/${jobId}`), (r) => r.json.status === "completed");
    const session = await api("GET", `/api/jobs/${jobId}/debug/session`);
    expect(session.status).toBe(200);
    expect(session.json.status).toBe("ended");
    expect(session.json.paused_at ?? null).toBeNull();
  });
});
