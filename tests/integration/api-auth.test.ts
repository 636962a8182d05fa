import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../helpers/server";

let server: TestServer;

beforeAll(async () => {
  server = await startServer({ ROUTILUX_API_KEY: "secret-key", ROUTILUX_DEMO: "0" });
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { headers });

describe("with ROUTILUX_API_KEY set", () => {
  it("answers 401 without a key and 403 with a wrong one, with an error body", async () => {
    const missing = await get("/api/flows");
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: { code: "UNAUTHORIZED", message: "Missing API key" } });
    const wrong = await get("/api/flows", { "x-api-key": "nope" });
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe("FORBIDDEN");
    expect((await get("/api/jobs", { authorization: "Bearer nope" })).status).toBe(403);
  });

  it("accepts the key as X-API-Key or Bearer; /api/health stays open", async () => {
    const ok = await get("/api/flows", { "x-api-key": "secret-key" });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ flows: [], total: 0 });
    expect((await get("/api/flows", { authorization: "Bearer secret-key" })).status).toBe(200);
    expect((await get("/api/health")).status).toBe(200);
    expect((await get("/api/openapi.json")).status).toBe(401);
  });
});
