/**
 * Full payloads per job: every activation's input and every emit's output kept in full within the
 * job's budget, previews beyond it (flagged), memory bounded, removed with the job.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type ActivationContext, DEFAULT_PAYLOAD_BUDGET_BYTES, Flow, getEventManager, type Job, jobStore, MAX_BUDGET_MISSES, type Payload, PAYLOAD_ROW_OVERHEAD, PREVIEW_BUDGET, routineRegistry } from "../../lib";
import type { IoPage } from "../../lib/monitoring";
import { Fn } from "../helpers/flows";
import { pausedSession, registry } from "../helpers/monitoring";

afterEach(() => {
  const reg = registry();
  reg.monitorCollector.setPayloadBudget(DEFAULT_PAYLOAD_BUDGET_BYTES);
  reg.monitorCollector.setMaxEventsPerJob(1000);
  for (const job of jobStore.list().jobs) job.cancel("test cleanup");
  for (const job of jobStore.list().jobs) jobStore.remove(job.jobId);
});

/** A payload whose JSON is far longer than a trace preview. */
const big = (n: number): { data: number[]; label: string } => ({ data: Array.from({ length: n }, (_, i) => i * 7), label: "x".repeat(300) });

/** ingest → double → check (check logs and writes shared data); every payload larger than a preview. */
function pipeline(): Flow {
  const flow = new Flow("payloads_pipeline");
  flow.addRoutine(new Fn((p, ctx) => ctx.emit("out", { count: (p.data as number[]).length, data: p.data })), "ingest");
  flow.addRoutine(new Fn((p, ctx) => ctx.emit("out", { result: (p.data as number[]).map((x) => x * 2) })), "double");
  flow.addRoutine(
    new Fn((p, ctx: ActivationContext) => {
      ctx.shared.total = (p.result as number[]).length;
      ctx.log("checked", { result: p.result });
    }),
    "check",
  );
  flow.connect("ingest", "out", "double", "input");
  flow.connect("double", "out", "check", "input");
  return flow;
}

function io(job: Job, q: { routineId?: string; kind?: "input" | "output"; afterSeq?: number; limit?: number } = {}): IoPage {
  const page = registry().monitorCollector.jobIo(job.jobId, { routineId: q.routineId, kind: q.kind, afterSeq: q.afterSeq ?? 0, limit: q.limit ?? 1000 });
  if (!page) throw new Error(`no io for ${job.jobId}`);
  return page;
}

describe("full payloads", () => {
  it("keeps every input and output of a finished job in full, beyond the trace's previews", async () => {
    const collector = registry().monitorCollector;
    const params = big(1000);
    expect(JSON.stringify(params).length).toBeGreaterThan(2 * PREVIEW_BUDGET);
    const job = await pipeline().execute("ingest", params);
    expect(job.status).toBe("completed");

    const page = io(job);
    expect(page.rows.map((r) => [r.routine_id, r.kind])).toEqual([
      ["ingest", "input"],
      ["ingest", "output"],
      ["double", "input"],
      ["double", "output"],
      ["check", "input"],
    ]);
    expect(page.rows.every((r) => !r.truncated)).toBe(true);
    expect(page.has_more).toBe(false);
    const doubled = params.data.map((x) => x * 2);
    expect(page.rows.map((r) => r.payload)).toEqual([params, { count: 1000, data: params.data }, { count: 1000, data: params.data }, { result: doubled }, { result: doubled }]);
    expect(page.rows[0]).toMatchObject({ slot_name: "trigger", event_name: null, activation_id: 1 });
    expect(page.rows[1]).toMatchObject({ slot_name: null, event_name: "out", activation_id: 1 });
    expect(page.rows[2]).toMatchObject({ slot_name: "input", event_name: "out", activation_id: 2 });
    // Five inputs and outputs, the entry params and the log entry's data.
    expect(page.payloads).toMatchObject({ budget_bytes: DEFAULT_PAYLOAD_BUDGET_BYTES, kept: 7, truncated: false, truncated_count: 0, previews_after_seq: null });
    expect(page.payloads.used_bytes).toBeGreaterThan(5 * JSON.stringify(params.data).length);

    // Each row is its trace event: the trace holds a preview, the event answer the whole payload.
    const trace = collector.getExecutionTrace(job.jobId);
    for (const row of page.rows) {
      const traced = trace.find((e) => e.seq === row.seq);
      expect(traced?.event_type).toBe(row.kind === "input" ? "routine_start" : "event_emit");
      expect(JSON.stringify(traced?.data.payload).length).toBeLessThan(PREVIEW_BUDGET + 100);
      const full = collector.eventWithPayload(job.jobId, row.seq);
      expect(full?.truncated).toBe(false);
      expect(full?.event).toEqual({ ...traced, data: { ...traced?.data, payload: row.payload } });
    }
    // The entry params (job_started) and a log entry's data, in full too.
    const started = collector.eventWithPayload(job.jobId, 1);
    expect(started?.event.event_type).toBe("job_started");
    expect(started?.event.data.params).toEqual(params);
    const log = trace.find((e) => e.event_type === "log");
    expect(collector.eventWithPayload(job.jobId, log?.seq ?? 0)?.event.data.data).toEqual({ result: doubled });
    // Events without a payload are answered as recorded; an unknown seq is not.
    const done = trace.at(-1);
    expect(collector.eventWithPayload(job.jobId, done?.seq ?? 0)).toMatchObject({ event: done, truncated: false });
    expect(collector.eventWithPayload(job.jobId, (done?.seq ?? 0) + 1)).toBeNull();
    expect(collector.eventWithPayload("job_unknown", 1)).toBeNull();
    expect(collector.jobIo("job_unknown", { afterSeq: 0, limit: 10 })).toBeNull();
  });

  it("filters by routine and kind and pages with after_seq", async () => {
    const job = await pipeline().execute("ingest", big(10));
    expect(io(job, { routineId: "double" }).rows.map((r) => r.kind)).toEqual(["input", "output"]);
    expect(io(job, { kind: "output" }).rows.map((r) => r.routine_id)).toEqual(["ingest", "double"]);
    expect(io(job, { routineId: "nobody" }).rows).toEqual([]);
    const first = io(job, { limit: 2 });
    expect(first.rows).toHaveLength(2);
    expect(first.has_more).toBe(true);
    const rest = io(job, { afterSeq: first.rows.at(-1)?.seq, limit: 10 });
    expect(rest.has_more).toBe(false);
    expect([...first.rows, ...rest.rows]).toEqual(io(job).rows);
  });

  it("keeps the input the handler received after a debugger edit", async () => {
    const reg = registry();
    const flow = pipeline();
    const job = flow.start("ingest", { data: [1, 2, 3] });
    reg.breakpointManager.setBreakpoint({ job_id: job.jobId, routine_id: "double" });
    const session = await pausedSession(job);
    session.setVariable("data", [10, 20]);
    session.continue();
    await job.done;
    const rows = io(job, { routineId: "double" }).rows;
    expect(rows.map((r) => r.payload)).toEqual([{ count: 3, data: [10, 20] }, { result: [20, 40] }]);
  });

  it("keeps an emitted payload as it was emitted while somebody watches the job live", async () => {
    const flow = new Flow("payloads_mutate");
    // Emits an object, then changes it: a watched job keeps what was emitted.
    flow.addRoutine(
      new Fn((_p, ctx) => {
        const out: Payload = { step: 1 };
        ctx.emit("out", out);
        out.step = 2;
      }),
      "src",
    );
    flow.addRoutine(new Fn(() => {}), "sink");
    flow.connect("src", "out", "sink", "input");
    registry();
    const job = flow.start("src");
    const sub = getEventManager().subscribe(job.jobId, { afterSeq: 0 });
    await job.done;
    sub.close();
    expect(io(job, { kind: "output" }).rows.map((r) => r.payload)).toEqual([{ step: 1 }]);
  });

  it("captures every payload when the trace ring is much smaller than the job (and when it shrinks mid-job)", async () => {
    const collector = registry().monitorCollector;
    collector.setMaxEventsPerJob(7);
    const flow = new Flow("payloads_small_ring");
    flow.addRoutine(
      new Fn(async (p, ctx) => {
        for (let i = 0; i < (p.n as number); i++) {
          ctx.emit("item", { i, tag: `item-${i}` });
          if (i === 20) {
            await Promise.resolve();
            collector.setMaxEventsPerJob(3);
          }
        }
      }),
      "src",
    );
    flow.addRoutine(new Fn((p, ctx) => ctx.emit("out", { ...p, seen: true })), "work");
    flow.addRoutine(new Fn(() => {}), "sink");
    flow.connect("src", "item", "work", "input");
    flow.connect("work", "out", "sink", "input");
    const job = await flow.execute("src", { n: 50 });
    expect(job.status).toBe("completed");
    expect(collector.traceInfo(job.jobId)?.retained).toBe(3);
    const rows = io(job).rows;
    expect(rows.filter((r) => r.routine_id === "src" && r.kind === "output").map((r) => r.payload)).toEqual(Array.from({ length: 50 }, (_, i) => ({ i, tag: `item-${i}` })));
    expect(rows.filter((r) => r.routine_id === "work" && r.kind === "output").map((r) => (r.payload as { i: number }).i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(rows.filter((r) => r.kind === "input")).toHaveLength(101);
    expect(rows.every((r) => !r.truncated)).toBe(true);
    // Seqs increase, and an old event the trace lost is rebuilt from its kept payload.
    expect(rows.map((r) => r.seq)).toEqual([...rows.map((r) => r.seq)].sort((a, b) => a - b));
    const old = rows[3];
    expect(collector.eventAt(job.jobId, old?.seq ?? 0)).toBeNull();
    const rebuilt = collector.eventWithPayload(job.jobId, old?.seq ?? 0);
    expect(rebuilt?.event).toMatchObject({ seq: old?.seq, event_type: "event_emit", routine_id: "src", data: { event_name: "item", targets: [{ routine_id: "work", slot_name: "input" }], payload: old?.payload } });
    expect(rebuilt?.truncated).toBe(false);
  });

  it("keeps the input of each retry attempt, and payloads of a concurrent job", async () => {
    const flaky = new Flow("payloads_retry");
    flaky.addRoutine(routineRegistry.create("fail", { fail_times: 2 }).setAsCritical({ maxRetries: 3, retryDelay: 0.001 }), "f");
    registry();
    const job = await flaky.execute("f", { attempt_me: true }, { entrySlot: "input" });
    expect(job.status).toBe("completed");
    const inputs = io(job, { kind: "input" }).rows;
    expect(inputs.map((r) => r.payload)).toEqual([{ attempt_me: true }, { attempt_me: true }, { attempt_me: true }]);
    expect(new Set(inputs.map((r) => r.activation_id)).size).toBe(1);

    const conc = new Flow("payloads_concurrent", { executionStrategy: "concurrent", maxWorkers: 4 });
    conc.addRoutine(
      new Fn(async (_p, ctx) => {
        for (let i = 0; i < 10; i++) ctx.emit("out", { i });
        await new Promise((r) => setTimeout(r, 1));
      }),
      "src",
    );
    conc.addRoutine(new Fn(async (p, ctx) => { await new Promise((r) => setTimeout(r, 1)); ctx.emit("out", { twice: (p.i as number) * 2 }); }), "w");
    conc.addRoutine(new Fn(() => {}), "sink");
    conc.connect("src", "out", "w", "input");
    conc.connect("w", "out", "sink", "input");
    const cjob = await conc.execute("src");
    expect(io(cjob, { routineId: "sink" }).rows.map((r) => (r.payload as { twice: number }).twice).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i * 2));
  });

  it("keeps what JSON cannot represent as a flagged preview, without failing the job", async () => {
    const flow = new Flow("payloads_odd");
    flow.addRoutine(
      new Fn((_p, ctx) => {
        const cyclic: Payload = { name: "loop" };
        cyclic.self = cyclic;
        ctx.emit("out", cyclic);
        ctx.emit("out", { big: 10n });
      }),
      "src",
    );
    flow.addRoutine(new Fn(() => {}), "sink");
    flow.connect("src", "out", "sink", "input");
    registry();
    const job = await flow.execute("src");
    expect(job.status).toBe("completed");
    const outs = io(job, { routineId: "src", kind: "output" });
    expect(outs.rows.map((r) => r.truncated)).toEqual([true, true]);
    expect(outs.rows[0]?.payload).toMatchObject({ name: "loop" });
    expect(outs.rows[1]?.payload).toEqual({ big: "10n" });
    expect(outs.payloads).toMatchObject({ truncated: true, truncated_count: 4, previews_after_seq: null });
  });
});

describe("flat payloads", () => {
  it("keep every kind of primitive and every key exactly, whatever mix of shapes follows", async () => {
    const sent: Payload[] = [
      { a: 1, b: "two", c: true },
      { x: 0.1, y: -3e300, z: false, n: null },
      { a: 1, b: "two", c: true },
      { text: "quote \" and \n newline and ünïcødé", empty: "" },
      { gone: undefined, nan: Number.NaN, inf: Number.POSITIVE_INFINITY },
      JSON.parse('{"__proto__": {"polluted": true}, "k": 1}') as Payload,
      {},
      { x: 2, y: 3, z: true, n: null },
    ];
    const flow = new Flow("payloads_flat");
    flow.addRoutine(new Fn((_p, ctx) => { for (const p of sent) ctx.emit("out", p); }), "src");
    flow.addRoutine(new Fn(() => {}), "sink");
    flow.connect("src", "out", "sink", "input");
    registry();
    const job = await flow.execute("src");
    const outs = io(job, { routineId: "src", kind: "output" }).rows;
    // What JSON makes of each payload, exactly (undefined dropped, NaN and Infinity as null).
    expect(outs.map((r) => JSON.stringify(r.payload))).toEqual(sent.map((p) => JSON.stringify(p)));
    expect(outs.every((r) => !r.truncated)).toBe(true);
    expect(Object.getPrototypeOf(outs[5]?.payload)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    const ins = io(job, { routineId: "sink", kind: "input" }).rows;
    expect(ins.map((r) => JSON.stringify(r.payload))).toEqual(sent.map((p) => JSON.stringify(p)));
  });
});

describe("the payload budget", () => {
  it("keeps payloads in full up to the budget, previews after it, and says so", async () => {
    const collector = registry().monitorCollector;
    const budget = 20_000;
    collector.setPayloadBudget(budget);
    const flow = new Flow("payloads_budget");
    flow.addRoutine(new Fn((p, ctx) => { for (let i = 0; i < (p.n as number); i++) ctx.emit("out", { i, text: "y".repeat(3000) }); }), "src");
    flow.addRoutine(new Fn(() => {}), "sink");
    flow.connect("src", "out", "sink", "input");
    const job = await flow.execute("src", { n: 40 });
    const page = io(job);
    const stats = page.payloads;
    expect(stats.budget_bytes).toBe(budget);
    expect(stats.truncated).toBe(true);
    expect(stats.kept).toBeGreaterThan(0);
    expect(stats.kept + stats.truncated_count).toBe(82); // the params, the entry input, 40 outputs, 40 inputs
    expect(stats.previews_after_seq).not.toBeNull();
    expect(stats.used_bytes).toBeLessThanOrEqual(budget + MAX_BUDGET_MISSES * (PREVIEW_BUDGET + PAYLOAD_ROW_OVERHEAD));
    const full = page.rows.filter((r) => !r.truncated);
    const previews = page.rows.filter((r) => r.truncated);
    expect(full.length).toBe(stats.kept - 1); // the entry params are kept too
    expect(full.every((r) => (r.payload as { text?: string }).text?.length === 3000 || r.routine_id === "src")).toBe(true);
    expect(previews.length).toBeGreaterThan(0);
    // Past the budget: previews (the text cut), in seq order after every payload kept in full.
    expect(Math.min(...previews.map((r) => r.seq))).toBeGreaterThan(Math.max(...full.map((r) => r.seq)));
    for (const r of previews) expect((r.payload as { text: string }).text.length).toBeLessThan(3000);
    const last = previews.at(-1);
    expect(collector.eventWithPayload(job.jobId, last?.seq ?? 0)).toMatchObject({ truncated: true, payloads: { truncated: true } });
  });

  it("keeps trying smaller payloads after one that does not fit", async () => {
    const collector = registry().monitorCollector;
    collector.setPayloadBudget(10_000);
    const flow = new Flow("payloads_misses");
    flow.addRoutine(new Fn((_p, ctx) => { ctx.emit("out", { huge: "z".repeat(50_000) }); ctx.emit("out", { small: 1 }); }), "src");
    flow.addRoutine(new Fn(() => {}), "sink");
    flow.connect("src", "out", "sink", "input");
    const job = await flow.execute("src");
    const outs = io(job, { routineId: "src", kind: "output" }).rows;
    expect(outs.map((r) => r.truncated)).toEqual([true, false]);
    expect(outs[1]?.payload).toEqual({ small: 1 });
    expect(JSON.stringify(outs[0]?.payload).length).toBeLessThan(PREVIEW_BUDGET + 100);
  });

  it("stays bounded however long the job runs, and keeps nothing with a budget of 0", async () => {
    const collector = registry().monitorCollector;
    const budget = 64 * 1024;
    collector.setPayloadBudget(budget);
    const flow = new Flow("payloads_long");
    flow.addRoutine(new Fn((p, ctx) => { const left = p.left as number; if (left > 0) ctx.emit("again", { left: left - 1, pad: "p".repeat(40) }); }), "loop");
    flow.connect("loop", "again", "loop", "input");
    const job = await flow.execute("loop", { left: 20_000 }, { entrySlot: "input" });
    expect(job.status).toBe("completed");
    const stats = collector.payloadStats(job.jobId);
    expect(stats?.used_bytes).toBeLessThanOrEqual(budget + MAX_BUDGET_MISSES * (PREVIEW_BUDGET + PAYLOAD_ROW_OVERHEAD));
    expect(stats?.kept).toBeLessThan(budget / PAYLOAD_ROW_OVERHEAD);
    expect((stats?.kept ?? 0) + (stats?.truncated_count ?? 0)).toBe(2 * 20_000 + 2); // + the params and the entry input
    // What is left past the budget is the trace window's previews (the last 1,000 events).
    const tail = io(job, { afterSeq: stats?.previews_after_seq ?? 0, limit: 1000 });
    expect(tail.rows.length).toBeGreaterThan(0);
    expect(tail.rows.every((r) => r.truncated && r.activation_id === null)).toBe(true);

    collector.setPayloadBudget(0);
    const none = await pipeline().execute("ingest", big(5));
    const page = io(none);
    expect(page.rows).toHaveLength(5);
    expect(page.rows.every((r) => r.truncated)).toBe(true);
    expect(page.payloads).toMatchObject({ budget_bytes: 0, kept: 0, truncated: true });
    expect(() => collector.setPayloadBudget(-1)).toThrow(RangeError);
    expect(() => collector.setPayloadBudget(1.5)).toThrow(RangeError);
  });

  it("applies to jobs started after it is set", async () => {
    const collector = registry().monitorCollector;
    const job = pipeline().start("ingest", big(50));
    collector.setPayloadBudget(0);
    await job.done;
    expect(io(job).payloads).toMatchObject({ budget_bytes: DEFAULT_PAYLOAD_BUDGET_BYTES, truncated: false });
  });
});

describe("removal", () => {
  it("drops a job's payloads with the job", async () => {
    const collector = registry().monitorCollector;
    const job = await pipeline().execute("ingest", big(10));
    expect(io(job).rows).toHaveLength(5);
    expect(jobStore.remove(job.jobId)).toBe(true);
    expect(collector.jobIo(job.jobId, { afterSeq: 0, limit: 10 })).toBeNull();
    expect(collector.payloadStats(job.jobId)).toBeNull();
    expect(collector.eventWithPayload(job.jobId, 2)).toBeNull();
  });
});

describe("hostile payloads", () => {
  it("capture never fails a job: a throwing getter, a proxy that cannot list its keys", async () => {
    const flow = new Flow("payloads_hostile");
    flow.addRoutine(
      new Fn((_p, ctx) => {
        ctx.emit("out", Object.defineProperty({ ok: 1 }, "boom", { enumerable: true, get: () => { throw new Error("no reading me"); } }));
        ctx.emit("out", new Proxy({ a: 1 }, { ownKeys: () => { throw new Error("no keys"); } }));
        ctx.emit("out", { ok: 2 });
      }),
      "src",
    );
    flow.addRoutine(new Fn(() => {}), "sink");
    flow.connect("src", "out", "sink", "input");
    registry();
    const job = await flow.execute("src");
    expect(job.status).toBe("completed");
    const outs = io(job, { routineId: "src", kind: "output" }).rows;
    expect(outs.map((r) => r.truncated)).toEqual([true, true, false]);
    expect(outs[2]?.payload).toEqual({ ok: 2 });
  });
});
