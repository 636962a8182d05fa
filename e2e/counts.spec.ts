/**
 * Node and edge counts in the job view equal the server's job snapshot, however the view came to
 * the job: opened before the run, mid-run, after the end, after a reload, after the connection
 * was cut and came back, and for a job restored from history. Counts are compared only when the
 * job stands still (paused or finished), and by polling until the view has caught up: never by
 * waiting a fixed time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type APIRequestContext, expect, type Page, test } from "@playwright/test";
import type { JobSnapshot, StartJobAnswer } from "../lib/wire";
import { bigFlowDsl, bigFlowParams } from "../tests/helpers/big-flow";
import { clearFlowBreakpoints } from "./helpers";
import { freePort, ServerProcess } from "./server-process";
import { TcpProxy } from "./tcp-proxy";

interface FlowCase {
  flow: string;
  entry: string;
  slot: string;
  params: Record<string, unknown>;
  /** Where a job of this flow is held mid-run. */
  hold: { routine_id: string; condition?: string };
  /** A flow this test creates (the generated 50-routine one). */
  dsl?: Record<string, unknown>;
}

const CASES: FlowCase[] = [
  { flow: "data_processing", entry: "ingest", slot: "trigger", params: { data: [1, 2, 3, 4, 5] }, hold: { routine_id: "validate" } },
  { flow: "fan_out", entry: "split", slot: "input", params: { items: [1, 20, 3, 40, 5, 60, 7, 80] }, hold: { routine_id: "collect" } },
  { flow: "flaky_retry", entry: "flaky", slot: "input", params: {}, hold: { routine_id: "done" } },
  { flow: "slow_stream", entry: "source", slot: "trigger", params: { count: 30, interval_ms: 20 }, hold: { routine_id: "sink", condition: "n == 12" } },
  { flow: "counts_50", entry: "intake", slot: "input", params: bigFlowParams(12), hold: { routine_id: "merge", condition: "order.id == 6" }, dsl: bigFlowDsl("counts_50", 12) },
  {
    flow: "counts_50c",
    entry: "intake",
    slot: "input",
    params: bigFlowParams(12),
    hold: { routine_id: "large_join", condition: "order.id == 2" },
    dsl: bigFlowDsl("counts_50c", 12, "concurrent"),
  },
];

test.beforeEach(async ({ request }) => clearFlowBreakpoints(request));

async function json<T>(res: Promise<{ json(): Promise<unknown> }>): Promise<T> {
  return (await (await res).json()) as T;
}

async function ensureFlow(request: APIRequestContext, c: FlowCase): Promise<void> {
  if (!c.dsl) return;
  await request.delete(`/api/flows/${c.flow}`);
  const res = await request.post("/api/flows", { data: { flow_id: c.flow, dsl: c.dsl } });
  expect(res.status(), await res.text()).toBe(201);
}

async function startJob(request: APIRequestContext, c: FlowCase, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await request.post("/api/jobs", { data: { flow_id: c.flow, entry_routine_id: c.entry, entry_slot: c.slot, entry_params: c.params, ...extra } });
  expect(res.status(), await res.text()).toBe(201);
  return ((await res.json()) as StartJobAnswer).job_id;
}

const snapshot = (request: APIRequestContext, jobId: string) => json<JobSnapshot>(request.get(`/api/jobs/${jobId}`));

async function serverStatus(request: APIRequestContext, jobId: string, status: RegExp, timeout = 30_000): Promise<void> {
  await expect.poll(async () => (await snapshot(request, jobId)).status, { timeout }).toMatch(status);
}

/** Removes the job's own breakpoints and continues it (the next stop, if any, is the caller's to wait for). */
async function releaseAndContinue(request: APIRequestContext, jobId: string): Promise<void> {
  const bps = await json<{ breakpoints: { breakpoint_id: string }[] }>(request.get(`/api/jobs/${jobId}/breakpoints`));
  for (const bp of bps.breakpoints) expect((await request.delete(`/api/jobs/${jobId}/breakpoints/${bp.breakpoint_id}`)).ok()).toBe(true);
  expect((await request.post(`/api/jobs/${jobId}/debug/continue`)).status()).toBe(200);
}

/** What the view shows, read in one go: per routine its counts and state, per edge label its count. */
async function readView(page: Page) {
  return page.evaluate(() => {
    const read = (prefix: string, attr: string): Record<string, string | null> => {
      const out: Record<string, string | null> = {};
      for (const el of document.querySelectorAll(`[data-testid^="${prefix}"]`)) out[(el.getAttribute("data-testid") ?? "").slice(prefix.length)] = el.getAttribute(attr);
      return out;
    };
    const log = document.querySelector('[data-testid="event-log"]');
    return {
      activations: read("node-activations-", "data-count"),
      errors: read("node-errors-", "data-count"),
      status: read("node-status-", "data-status"),
      edges: read("edge-count-", "data-count"),
      pausedAt: document.querySelector('[data-testid="paused-at"]')?.getAttribute("data-routine-id") ?? null,
      panel: {
        routine: document.querySelector('[data-testid="routine-panel"]')?.getAttribute("data-routine-id") ?? null,
        runs: document.querySelector('[data-testid="routine-panel-runs"]')?.getAttribute("data-count") ?? null,
        errors: document.querySelector('[data-testid="routine-panel-errors"]')?.getAttribute("data-count") ?? null,
      },
      log: { size: log?.getAttribute("data-size"), lastSeq: log?.getAttribute("data-last-seq"), missing: log?.getAttribute("data-missing") },
    };
  });
}

/** Every difference between the view and the server's snapshot (empty: they agree). */
async function differences(page: Page, request: APIRequestContext, jobId: string): Promise<string[]> {
  const snap = await snapshot(request, jobId);
  const view = await readView(page);
  const diffs: string[] = [];
  for (const [id, rs] of Object.entries(snap.routine_states)) {
    if (view.activations[id] !== String(rs.activations)) diffs.push(`${id}: ${view.activations[id]} activations shown, ${rs.activations} on the server`);
    if (view.errors[id] !== String(rs.errors)) diffs.push(`${id}: ${view.errors[id]} errors shown, ${rs.errors} on the server`);
    const status = snap.status === "paused" && view.pausedAt === id ? "paused" : rs.status;
    if (view.status[id] !== status) diffs.push(`${id}: shown ${view.status[id]}, ${status} on the server`);
  }
  if (Object.keys(view.activations).length !== Object.keys(snap.routine_states).length) diffs.push(`${Object.keys(view.activations).length} nodes shown, ${Object.keys(snap.routine_states).length} routines on the server`);
  // The routine panel (the selected node: at a stop, the paused one) says the same.
  const selected = view.panel.routine === null ? undefined : snap.routine_states[view.panel.routine];
  if (selected && (view.panel.runs !== String(selected.activations) || view.panel.errors !== String(selected.errors))) {
    diffs.push(`routine panel of ${view.panel.routine}: ${view.panel.runs} runs and ${view.panel.errors} errors shown, ${selected.activations} and ${selected.errors} on the server`);
  }
  // Edge labels are drawn at readable zoom only (a big flow starts zoomed out): those shown must agree.
  for (const [id, count] of Object.entries(view.edges)) {
    if (count !== String(snap.connection_counts[id] ?? 0)) diffs.push(`edge ${id}: ${count} shown, ${snap.connection_counts[id] ?? 0} on the server`);
  }
  return diffs;
}

/** Waits until the view agrees with the server: the job must be standing still (paused or finished). */
async function expectCountsMatch(page: Page, request: APIRequestContext, jobId: string, what: string): Promise<void> {
  await expect.poll(() => differences(page, request, jobId), { message: `counts ${what}`, timeout: 20_000 }).toEqual([]);
}

/** The log holds every event exactly once (a finished job whose trace nothing was dropped from). */
async function expectFullLog(page: Page, request: APIRequestContext, jobId: string): Promise<void> {
  const { total_events, dropped_events } = await json<{ total_events: number; dropped_events: number }>(request.get(`/api/jobs/${jobId}/metrics`));
  expect(dropped_events).toBe(0);
  const log = page.getByTestId("event-log");
  await expect(log).toHaveAttribute("data-last-seq", String(total_events));
  await expect(log).toHaveAttribute("data-size", String(total_events));
  await expect(log).toHaveAttribute("data-missing", "0");
  expect((await snapshot(request, jobId)).last_seq).toBe(total_events);
}

async function openJob(page: Page, base: string, jobId: string): Promise<void> {
  await page.goto(`${base}/jobs/${jobId}`);
  await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "connected");
  await expect(page.locator(".react-flow__node").first()).toBeVisible();
}

for (const c of CASES) {
  test(`${c.flow}: counts equal the snapshot opened before the run, after the end, after a reload, mid-run, and after the connection came back`, async ({ page, request, baseURL }) => {
    test.setTimeout(180_000);
    await ensureFlow(request, c);
    const proxy = new TcpProxy(Number(new URL(baseURL ?? "http://localhost:8799").port));
    await proxy.start();
    const via = `http://localhost:${proxy.port}`;
    try {
      // (a) Opened before the run: started paused, then continued from the toolbar.
      const early = await startJob(request, c, { pause_on_start: true });
      await openJob(page, via, early);
      await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "paused");
      await expectCountsMatch(page, request, early, "before the run");
      await page.getByTestId("debug-continue").click();
      await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", /completed|failed/, { timeout: 30_000 });
      await expectCountsMatch(page, request, early, "at the end of a run watched from its start");
      await expectFullLog(page, request, early);

      // (d) After a reload.
      await page.reload();
      await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "connected");
      await expectCountsMatch(page, request, early, "after a reload");
      await expectFullLog(page, request, early);

      // (c) Opened after the end.
      const late = await startJob(request, c);
      await serverStatus(request, late, /completed|failed/);
      await openJob(page, via, late);
      await expectCountsMatch(page, request, late, "opened after the end");
      await expectFullLog(page, request, late);

      // (b) Opened mid-run, while a breakpoint holds the job; then reloaded while it is held.
      const held = await startJob(request, c, { breakpoints: [{ routine_id: c.hold.routine_id, ...(c.hold.condition ? { condition: c.hold.condition } : {}) }] });
      await serverStatus(request, held, /paused/);
      await openJob(page, via, held);
      await expect(page.getByTestId("paused-at")).toHaveAttribute("data-routine-id", c.hold.routine_id);
      await expect(page.getByTestId("routine-panel")).toBeVisible(); // the stop selects the paused node
      await expectCountsMatch(page, request, held, "opened mid-run (held at a breakpoint)");
      await page.reload();
      await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "connected");
      await expectCountsMatch(page, request, held, "after a reload mid-run");

      // (e) The connection is cut; the job runs to its end meanwhile; the connection comes back.
      await proxy.stop();
      await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "reconnecting");
      await releaseAndContinue(request, held);
      await serverStatus(request, held, /completed|failed/);
      await proxy.start();
      await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "connected", { timeout: 15_000 });
      await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", /completed|failed/);
      await expectCountsMatch(page, request, held, "after the connection was cut and came back");
      await expectFullLog(page, request, held);
    } finally {
      await proxy.stop();
      if (c.dsl) await request.delete(`/api/flows/${c.flow}`);
    }
  });
}

test("slow_stream with a long stream: opened while it streams, paused there, cut off while it streams on, counts equal the snapshot each time it stands still", async ({ page, request, baseURL }) => {
  test.setTimeout(120_000);
  const proxy = new TcpProxy(Number(new URL(baseURL ?? "http://localhost:8799").port));
  await proxy.start();
  const via = `http://localhost:${proxy.port}`;
  const c = CASES.find((x) => x.flow === "slow_stream") as FlowCase;
  try {
    // Long enough (21 s) that it still streams after the page opened, paused and resumed it on a
    // busy machine (the ticker keeps ticking while the job is paused), and few enough events
    // (~7 per tick) that the trace ring keeps them all for the full-log check.
    const jobId = await startJob(request, { ...c, params: { count: 140, interval_ms: 150 } });
    await expect.poll(async () => (await snapshot(request, jobId)).routine_states.sink?.activations ?? 0).toBeGreaterThan(5);
    await openJob(page, via, jobId);
    await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "running");
    expect((await request.post(`/api/jobs/${jobId}/pause`)).status()).toBe(200);
    await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "paused");
    await expectCountsMatch(page, request, jobId, "paused mid-stream");

    expect((await request.post(`/api/jobs/${jobId}/resume`)).status()).toBe(200);
    await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "running");
    await proxy.stop();
    await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "reconnecting");
    // The job streams on while the page is cut off (a network drop of a second or more).
    const before = (await snapshot(request, jobId)).last_seq;
    await expect.poll(async () => (await snapshot(request, jobId)).last_seq, { timeout: 10_000 }).toBeGreaterThan(before + 100);
    await proxy.start();
    await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "connected", { timeout: 15_000 });
    await serverStatus(request, jobId, /completed/, 60_000);
    await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
    await expectCountsMatch(page, request, jobId, "at the end, after the drop");
    await expectFullLog(page, request, jobId);
    await expect(page.getByTestId("edge-count-scale.output:sink.input")).toHaveAttribute("data-count", "140");
  } finally {
    await proxy.stop();
  }
});

test("a job whose trace ring dropped events: counts come from the snapshot, and the view says how many events it cannot show", async ({ page, request }) => {
  test.setTimeout(120_000);
  const c: FlowCase = { flow: "counts_50_big", entry: "intake", slot: "input", params: bigFlowParams(60), hold: { routine_id: "merge" }, dsl: bigFlowDsl("counts_50_big", 60) };
  await ensureFlow(request, c);
  try {
    const jobId = await startJob(request, c);
    await serverStatus(request, jobId, /completed/);
    const m = await json<{ total_events: number; retained_events: number; dropped_events: number }>(request.get(`/api/jobs/${jobId}/metrics`));
    expect(m.dropped_events).toBeGreaterThan(0);
    await openJob(page, "", jobId);
    await expectCountsMatch(page, request, jobId, "with a dropped trace prefix");
    const log = page.getByTestId("event-log");
    await expect(log).toHaveAttribute("data-size", String(m.retained_events));
    await expect(log).toHaveAttribute("data-last-seq", String(m.total_events));
    await expect(log).toHaveAttribute("data-missing", String(m.dropped_events));
    await expect(page.getByTestId("events-dropped")).toContainText(`${m.dropped_events} events`);
    await page.reload();
    await expectCountsMatch(page, request, jobId, "after a reload, with a dropped trace prefix");
  } finally {
    await request.delete(`/api/flows/${c.flow}`);
  }
});

test("a job restored from history after a restart: counts equal its archived snapshot", async ({ page, playwright }) => {
  test.setTimeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), "routilux-counts-"));
  const server = new ServerProcess(await freePort(), { ROUTILUX_DB: join(dir, "routilux.db"), ROUTILUX_CHECK_WIRE: "1" });
  await server.start();
  const request = await playwright.request.newContext({ baseURL: server.url });
  try {
    const c: FlowCase = { flow: "counts_hist", entry: "intake", slot: "input", params: bigFlowParams(12), hold: { routine_id: "merge" }, dsl: bigFlowDsl("counts_hist", 12) };
    await ensureFlow(request, c);
    const fanOut = CASES.find((x) => x.flow === "fan_out") as FlowCase;
    const ids = [await startJob(request, fanOut), await startJob(request, c)];
    for (const id of ids) await serverStatus(request, id, /completed/);
    await server.stop();
    await server.start();
    for (const id of ids) {
      await openJob(page, server.url, id);
      await expectCountsMatch(page, request, id, "of a job restored from history");
      await expectFullLog(page, request, id);
    }
  } finally {
    await request.dispose();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
