/**
 * Over the real server: DSLs over each bound get a clear error, 10,000 flow breakpoints are
 * created in one request and still match correctly, costly conditions share one budget per
 * location (the rest are reported as not evaluated), and a costly watch expression on a paused
 * job answers with the evaluator's budget/size code. Behaviour only: no timing verdicts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DSL_LIMITS } from "../../lib/engine";
import type { Breakpoint, SessionSnapshot, StartJobAnswer } from "../../lib/wire";
import { startServer, type TestServer } from "../helpers/server";

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

interface Answer<T> {
  status: number;
  json: T;
}

async function call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
}

type ErrorAnswer = { error: { code: string; message: string; details?: unknown } };

async function settled(jobId: string): Promise<SessionSnapshot & { job_status: string }> {
  for (let i = 0; i < 1000; i++) {
    const job = (await call<{ status: string }>("GET", `/api/jobs/${jobId}`)).json;
    const s = (await call<SessionSnapshot>("GET", `/api/jobs/${jobId}/debug/session`)).json;
    if (s.status === "paused" || ["completed", "failed", "cancelled"].includes(job.status)) return { ...s, job_status: job.status };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${jobId} neither stopped nor ended`);
}

function flowDsl(id: string): string {
  return `flow_id: ${id}\nroutines:\n  a:\n    class: passthrough\n  b:\n    class: passthrough\nconnections:\n  - from: a.output\n    to: b.input\n`;
}

describe("DSL limits over HTTP", () => {
  it("refuses a DSL over each bound with DSL_LIMIT_EXCEEDED naming the limit", async () => {
    const keys = Array.from({ length: DSL_LIMITS.entries + 1 }, (_, i) => `      k${i}: 1`).join("\n");
    const cases: Array<[string, string, number]> = [
      ["entries", `flow_id: many\nroutines:\n  a:\n    class: passthrough\n    config:\n${keys}\n`, 400],
      ["depth", `${"[".repeat(300_000)}${"]".repeat(300_000)}`, 400],
      ["aliases", `x: &x [1]\ny: [${Array(DSL_LIMITS.aliases + 1).fill("*x").join(", ")}]\n${flowDsl("aliased")}`, 400],
    ];
    for (const [limit, dsl, status] of cases) {
      const answer = await call<ErrorAnswer>("POST", "/api/flows", { flow_id: `limit_${limit}`, dsl });
      expect(answer.status, limit).toBe(status);
      expect(answer.json.error.code, limit).toBe("DSL_LIMIT_EXCEEDED");
      expect(answer.json.error.details, limit).toMatchObject({ limit });
    }
    // Over the size limit the request's own schema refuses the text (and a body over 1 MB is a 413).
    const huge = await call<ErrorAnswer>("POST", "/api/flows", { flow_id: "huge", dsl: `${flowDsl("huge")}#${"x".repeat(DSL_LIMITS.text)}` });
    expect(huge.status).toBe(400);
    expect(huge.json.error.message).toMatch(/1000000/);
    const body = await call<ErrorAnswer>("POST", "/api/flows", { flow_id: "body", dsl: `${flowDsl("body")}#${"x".repeat(1_100_000)}` });
    expect(body.status).toBe(413);
    // Duplicate keys are still an error, and a flow within the bounds is created.
    const duplicate = await call<ErrorAnswer>("POST", "/api/flows", { flow_id: "dup", dsl: `${flowDsl("dup")}routines:\n  c:\n    class: passthrough\n` });
    expect(duplicate.status).toBe(400);
    expect(duplicate.json.error.message).toMatch(/duplicate key 'routines'/);
    expect((await call("POST", "/api/flows", { flow_id: "fine", dsl: flowDsl("fine") })).status).toBe(201);
  });
});

describe("many breakpoints", () => {
  it("creates 10,000 flow breakpoints in one request; a job stops on the one that matches", async () => {
    expect((await call("POST", "/api/flows", { flow_id: "many", dsl: flowDsl("many") })).status).toBe(201);
    const body = Array.from({ length: 9_999 }, () => ({ routine_id: "a", condition: "False" }));
    body.push({ routine_id: "b", condition: "True" });
    const created = await call<{ breakpoints: Breakpoint[]; total: number }>("POST", "/api/flows/many/breakpoints", body);
    expect(created.status).toBe(201);
    expect(created.json.total).toBe(10_000);
    const single = await call<Breakpoint>("POST", "/api/flows/many/breakpoints", { routine_id: "a", slot_name: "input", condition: "False" });
    expect(single.status).toBe(201);
    const listed = await call<{ total: number }>("GET", "/api/flows/many/breakpoints");
    expect(listed.json.total).toBe(10_001);

    const started = await call<StartJobAnswer>("POST", "/api/jobs", { flow_id: "many", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 1 } });
    expect(started.status).toBe(201);
    const stopped = await settled(started.json.job_id);
    const last = created.json.breakpoints[9_999] as Breakpoint;
    expect(stopped.paused_at).toMatchObject({ routine_id: "b", reason: "breakpoint", breakpoint_id: last.breakpoint_id });
    await call("POST", `/api/jobs/${started.json.job_id}/debug/continue`);
    expect((await settled(started.json.job_id)).job_status).toBe("completed");
    // Each of the 10,000 conditions on a was evaluated once (false: no hit, no error): cheap
    // conditions fit in the location's shared budget.
    const after = (await call<{ breakpoints: Breakpoint[] }>("GET", "/api/flows/many/breakpoints")).json.breakpoints;
    const onA = after.filter((bp) => bp.routine_id === "a");
    expect(onA).toHaveLength(10_000);
    expect(onA.every((bp) => bp.hit_count === 0 && bp.error_count === 0)).toBe(true);
    expect(after.find((bp) => bp.breakpoint_id === last.breakpoint_id)?.hit_count).toBe(1);
  }, 120_000);
});

describe("costly conditions share one budget per location", () => {
  it("conditions past the budget are not evaluated, do not stop, and say why", async () => {
    expect((await call("POST", "/api/flows", { flow_id: "budget", dsl: flowDsl("budget") })).status).toBe(201);
    const costly = Array.from({ length: 5 }, () => ({ routine_id: "b", condition: "sum([1] * 45000) < 0" }));
    const created = await call<{ breakpoints: Breakpoint[] }>("POST", "/api/flows/budget/breakpoints", [...costly, { routine_id: "b", condition: "True" }]);
    expect(created.status).toBe(201);
    const started = await call<StartJobAnswer>("POST", "/api/jobs", { flow_id: "budget", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 1 } });
    const end = await settled(started.json.job_id);
    // The unconditional-looking "True" came after the budget ran out: no stop.
    expect(end.job_status).toBe("completed");
    const after = (await call<{ breakpoints: Breakpoint[] }>("GET", "/api/flows/budget/breakpoints")).json.breakpoints;
    const last = after.find((bp) => bp.breakpoint_id === created.json.breakpoints[5]?.breakpoint_id);
    expect(last?.error_count).toBe(1);
    expect(last?.last_error).toMatch(/^Not evaluated/);
    const trace = await call<{ events: Array<{ event_type: string; data: Record<string, unknown> }> }>("GET", `/api/jobs/${started.json.job_id}/trace`);
    const notice = trace.json.events.find((e) => e.event_type === "log" && e.data.source === "breakpoint_budget");
    expect(notice?.data.breakpoint_ids).toContain(last?.breakpoint_id);
  });
});

describe("watch expressions on a paused job", () => {
  it("answers a too-large or too-costly expression with the evaluator's code", async () => {
    const started = await call<StartJobAnswer>("POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1] }, pause_on_start: true });
    const jobId = started.json.job_id;
    expect((await settled(jobId)).status).toBe("paused");
    const evaluate = (expression: string) => call<ErrorAnswer & { result?: unknown }>("POST", `/api/jobs/${jobId}/debug/evaluate`, { expression });
    const large = await evaluate("[1] * 200000");
    expect(large.status).toBe(400);
    expect(large.json.error.code).toBe("EXPRESSION_TOO_LARGE");
    const costly = await evaluate("('a' * 99999) in (['b' * 99999] * 1000)");
    expect(costly.status).toBe(400);
    expect(costly.json.error.code).toBe("EXPRESSION_BUDGET_EXCEEDED");
    const junk = await evaluate("float('1' * 99999 + 'x')");
    expect(junk.json.error.code).toBe("EVALUATION_FAILED");
    expect((await evaluate("str([1] * 3000)")).json.result).toHaveLength(9_000);
    await call("POST", `/api/jobs/${jobId}/debug/continue`);
  });
});
