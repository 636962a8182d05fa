import { afterEach, describe, expect, it, vi } from "vitest";
import { ErrorHandler, type ErrorStrategy, Flow, type Job } from "../../lib";
import { Fn, sleep } from "../helpers/flows";

type Place = "entry" | "downstream";

/**
 * entry: emits to `bad` then `good` (or throws itself after emitting when place = entry).
 * Every call is counted so "what still runs" is observable.
 */
function build(place: Place, handler: ErrorHandler | null) {
  const calls = { entry: 0, bad: 0, good: 0 };
  const flow = new Flow(`err-${place}`);
  flow.addRoutine(
    new Fn((_p, ctx) => {
      calls.entry++;
      ctx.emit("out", {});
      if (place === "entry") throw new Error("entry broke");
    }),
    "entry",
  );
  flow.addRoutine(new Fn(() => { calls.bad++; if (place === "downstream") throw new TypeError("bad broke"); }), "bad");
  flow.addRoutine(new Fn(() => { calls.good++; }), "good");
  flow.connect("entry", "out", "bad", "input");
  flow.connect("entry", "out", "good", "input");
  const failing = place === "entry" ? "entry" : "bad";
  if (handler) flow.getRoutine(failing)?.setErrorHandler(handler);
  return { flow, calls, failing };
}

const states = (job: Job) => Object.fromEntries(Object.entries(job.routineStates).map(([k, v]) => [k, v.status]));

describe.each<Place>(["entry", "downstream"])("error strategies on the %s routine", (place) => {
  it("default (no handler) = stop: routine failed, job failed, queued work dropped", async () => {
    const { flow, calls, failing } = build(place, null);
    const job = await flow.execute("entry");
    expect(job.status).toBe("failed");
    expect(job.error).toMatchObject({ routine_id: failing, message: place === "entry" ? "entry broke" : "bad broke" });
    expect(states(job)[failing]).toBe("failed");
    // entry fails before `bad`/`good` run; `bad` fails before the queued `good` runs.
    expect(calls).toEqual(place === "entry" ? { entry: 1, bad: 0, good: 0 } : { entry: 1, bad: 1, good: 0 });
    expect(states(job).good).toBe("pending");
  });

  it("stop, set explicitly, behaves the same", async () => {
    const { flow } = build(place, new ErrorHandler("stop"));
    expect((await flow.execute("entry")).status).toBe("failed");
  });

  it("continue: routine error_continued, the job goes on and completes", async () => {
    const { flow, calls, failing } = build(place, new ErrorHandler("continue"));
    const job = await flow.execute("entry");
    expect(job.status).toBe("completed");
    expect(states(job)[failing]).toBe("error_continued");
    expect(calls).toEqual({ entry: 1, bad: 1, good: 1 });
    expect(job.routineStates[failing]?.errors).toBe(1);
    expect(job.executionHistory.some((r) => r.event === "error" && r.routine_id === failing)).toBe(true);
  });

  it("skip: routine skipped, the job goes on and completes", async () => {
    const { flow, calls, failing } = build(place, new ErrorHandler("skip"));
    const job = await flow.execute("entry");
    expect(job.status).toBe("completed");
    expect(states(job)[failing]).toBe("skipped");
    expect(calls).toEqual({ entry: 1, bad: 1, good: 1 });
  });

  it("a flow-level handler applies when the routine has none", async () => {
    const { flow, failing } = build(place, null);
    flow.setErrorHandler(new ErrorHandler("continue"));
    const job = await flow.execute("entry");
    expect(job.status).toBe("completed");
    expect(states(job)[failing]).toBe("error_continued");
  });
});

describe("retry", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  async function flush(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }

  it.each<Place>(["entry", "downstream"])("on the %s routine: re-runs with the original payload after delay·backoff^(n-1)", async (place) => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const payloads: unknown[] = [];
    const flow = new Flow("retry");
    let failuresLeft = 3;
    const flaky = new Fn((p, ctx) => {
      payloads.push(structuredClone(p));
      if (failuresLeft-- > 0) throw new Error("flaky");
      if (place === "entry") ctx.emit("out", { done: true });
    });
    flaky.setErrorHandler(new ErrorHandler("retry", { maxRetries: 3, retryDelay: 1, retryBackoff: 2 }));
    const after: unknown[] = [];
    if (place === "entry") {
      flow.addRoutine(flaky, "flaky");
      flow.addRoutine(new Fn((p) => { after.push(p); }), "next");
      flow.connect("flaky", "out", "next", "input");
    } else {
      flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", { v: 7 })), "src");
      flow.addRoutine(flaky, "flaky");
      flow.connect("src", "out", "flaky", "input");
    }
    const job = flow.start(place === "entry" ? "flaky" : "src", { v: 7 });
    await flush();
    expect(payloads).toHaveLength(1);
    // 1st retry after 1000 ms, 2nd after 2000 ms more, 3rd after 4000 ms more.
    for (const [wait, expected] of [[999, 1], [1, 2], [1999, 2], [1, 3], [3999, 3], [1, 4]] as const) {
      await vi.advanceTimersByTimeAsync(wait);
      await flush();
      expect(payloads).toHaveLength(expected);
    }
    await job.done;
    expect(job.status).toBe("completed");
    expect(payloads).toEqual([{ v: 7 }, { v: 7 }, { v: 7 }, { v: 7 }]);
    expect(job.routineStates.flaky).toMatchObject({ status: "completed", activations: 4, errors: 3 });
    if (place === "entry") expect(after).toEqual([{ done: true }]);
  });

  it("exhausted retries fail the job (critical, the default): exactly maxRetries + 1 calls", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    let calls = 0;
    const flow = new Flow("retry-out");
    const r = new Fn(() => { calls++; throw new Error("always"); });
    r.setErrorHandler(new ErrorHandler("retry", { maxRetries: 2, retryDelay: 0.5, retryBackoff: 3 }));
    flow.addRoutine(r, "r");
    const job = flow.start("r");
    await vi.advanceTimersByTimeAsync(500 + 1500 + 10);
    await job.done;
    expect(calls).toBe(3);
    expect(job.status).toBe("failed");
    expect(job.routineStates.r?.status).toBe("failed");
  });

  it("exhausted retries with isCritical: false continue the job", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    let calls = 0;
    let after = 0;
    const flow = new Flow("retry-soft");
    flow.addRoutine(new Fn((_p, ctx) => { ctx.emit("out", {}); ctx.emit("out2", {}); }), "src");
    const r = new Fn(() => { calls++; throw new Error("always"); });
    r.setErrorHandler(new ErrorHandler("retry", { maxRetries: 1, retryDelay: 1, isCritical: false }));
    flow.addRoutine(r, "r");
    flow.addRoutine(new Fn(() => { after++; }), "after");
    flow.connect("src", "out", "r", "input");
    flow.connect("src", "out2", "after", "input");
    const job = flow.start("src");
    await vi.advanceTimersByTimeAsync(1010);
    await job.done;
    expect(calls).toBe(2);
    expect(after).toBe(1);
    expect(job.status).toBe("completed");
    expect(job.routineStates.r?.status).toBe("error_continued");
  });

  it("retry counts belong to each job: two jobs each get their full budget", async () => {
    const flow = new Flow("retry-jobs");
    const attempts: Record<string, number> = {};
    const r = new Fn((_p, ctx) => {
      attempts[ctx.jobId] = (attempts[ctx.jobId] ?? 0) + 1;
      if (ctx.attempt < 2) throw new Error("again");
    });
    r.setErrorHandler(new ErrorHandler("retry", { maxRetries: 2, retryDelay: 0.001, retryBackoff: 1 }));
    flow.addRoutine(r, "r");
    const [a, b] = await Promise.all([flow.execute("r"), flow.execute("r")]);
    expect(a.status).toBe("completed");
    expect(b.status).toBe("completed");
    expect(attempts[a.jobId]).toBe(3);
    expect(attempts[b.jobId]).toBe(3);
    // And a third job later starts from zero too.
    const c = await flow.execute("r");
    expect(c.status).toBe("completed");
    expect(attempts[c.jobId]).toBe(3);
  });
});

describe("timeouts", () => {
  it("a routine's config timeout fails a slow activation and fires its signal", async () => {
    let aborted = false;
    const flow = new Flow("rt");
    const slow = new Fn(async (_p, ctx) => {
      ctx.signal.addEventListener("abort", () => { aborted = true; });
      await sleep(300);
    });
    slow.setConfig({ timeout: 0.03 });
    flow.addRoutine(slow, "slow");
    const job = await flow.execute("slow");
    expect(job.status).toBe("failed");
    expect(job.error).toMatchObject({ error_type: "TimeoutError", routine_id: "slow" });
    expect(aborted).toBe(true);
  });

  it("a job-level timeout fails the job and aborts its signal", async () => {
    let aborted = false;
    const flow = new Flow("jt");
    flow.addRoutine(new Fn(async (_p, ctx) => {
      ctx.signal.addEventListener("abort", () => { aborted = true; });
      await sleep(300);
    }), "slow");
    const job = await flow.execute("slow", {}, { timeout: 0.03 });
    expect(job.status).toBe("failed");
    expect(job.error?.message).toMatch(/Job exceeded its timeout/);
    expect(aborted).toBe(true);
  });

  it("a strategy other than stop applies to timeouts as to other errors", async () => {
    const flow = new Flow("rt2");
    const slow = new Fn(async () => { await sleep(200); });
    slow.setConfig({ timeout: 0.02 }).setErrorHandler(new ErrorHandler("continue" as ErrorStrategy));
    flow.addRoutine(slow, "slow");
    const job = await flow.execute("slow");
    expect(job.status).toBe("completed");
    expect(job.routineStates.slow?.status).toBe("error_continued");
  });
});
