/**
 * Load and back-pressure against the real server with history on (a temp SQLite file):
 * 200 concurrent jobs over HTTP under 10 WebSocket monitors; a stalled WebSocket client.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connectInspector, type Inspector } from "../helpers/inspector";
import { startServer, type TestServer } from "../helpers/server";

const dir = mkdtempSync(join(tmpdir(), "routilux-load-"));
let s: TestServer;
let inspector: Inspector;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const TERMINAL = ["completed", "failed", "cancelled"];

beforeAll(async () => {
  s = await startServer({ ROUTILUX_DB: join(dir, "load.db") }, { inspect: true });
  inspector = await connectInspector(s);
});
afterAll(async () => {
  inspector.close();
  await s.stop();
  rmSync(dir, { recursive: true, force: true });
});


async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${s.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
}

async function startJobs(n: number): Promise<string[]> {
  const started = await Promise.all(Array.from({ length: n }, (_, i) => post("/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [i, i + 1, 20 + i] } })));
  return started.map((b) => b.job_id as string);
}

async function waitAllFinished(ids: string[]): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const res = (await (await fetch(`${s.url}/api/jobs?flow_id=data_processing&limit=1000`)).json()) as { jobs: { job_id: string; status: string }[] };
    const status = new Map(res.jobs.map((j) => [j.job_id, j.status]));
    if (ids.every((id) => TERMINAL.includes(status.get(id) ?? ""))) return;
    await sleep(50);
  }
  throw new Error("jobs did not finish");
}

async function removeAll(): Promise<number> {
  const res = await fetch(`${s.url}/api/jobs?max_age_seconds=0`, { method: "DELETE" });
  return ((await res.json()) as { removed: number }).removed;
}

describe("load", () => {
  it("200 concurrent jobs under 10 monitors: all finish, monitors that keep up lose nothing, RSS returns near baseline after removeOldJobs", async () => {
    // Warm-up round so the baseline includes JIT, pools and the database's cache.
    await waitAllFinished(await startJobs(200));
    expect(await removeAll()).toBe(200);
    await sleep(500);
    const baseline = await inspector.memoryAfterGc();

    // 8 flow monitors (every event of every job, through a bounded queue) and 2 job monitors
    // started with after_seq=0 (replay, then live): 10 in all.
    const open = (path: string) => {
      const ws = new WebSocket(`${s.wsUrl}${path}`);
      const msgs: Record<string, unknown>[] = [];
      ws.on("message", (d) => msgs.push(JSON.parse(String(d)) as Record<string, unknown>));
      return { ws, msgs, open: new Promise((r) => ws.once("open", r)) };
    };
    const flowMonitors = Array.from({ length: 8 }, () => open("/api/ws/flows/data_processing/monitor"));
    await Promise.all(flowMonitors.map((m) => m.open));
    const ids = await startJobs(200);
    expect(ids.every((id) => typeof id === "string")).toBe(true);
    const jobMonitors = [ids[0], ids[199]].map((id) => open(`/api/ws/jobs/${id}/monitor?after_seq=0`));
    await waitAllFinished(ids);
    await sleep(500);

    const traces = await Promise.all(ids.map(async (id) => (await (await fetch(`${s.url}/api/jobs/${id}/trace?limit=10000`)).json()) as { last_seq: number }));
    const totalEvents = traces.reduce((a, t) => a + t.last_seq, 0);
    const seqsOf = (msgs: Record<string, unknown>[], id: string) => msgs.filter((x) => x.job_id === id && typeof x.seq === "number" && x.type !== "events_dropped").map((x) => x.seq);
    // Job monitors keep up (replay + live): every event of their job, in order, none missing.
    jobMonitors.forEach((m, k) => {
      const id = ids[k === 0 ? 0 : 199] as string;
      const last = traces[k === 0 ? 0 : 199]?.last_seq ?? 0;
      expect(seqsOf(m.msgs, id)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    });
    // Flow monitors: a monitor that was never told of a drop has every event of every job;
    // one that was told has exactly (received + reported dropped) = everything: nothing is lost silently.
    let keptUp = 0;
    for (const m of flowMonitors) {
      const received = m.msgs.filter((x) => typeof x.seq === "number" && x.type !== "events_dropped").length;
      const dropped = m.msgs.filter((x) => x.type === "events_dropped").reduce((a, x) => a + (x.count as number), 0);
      expect(received + dropped).toBe(totalEvents);
      if (dropped === 0) {
        keptUp++;
        ids.forEach((id, k) => {
          expect(seqsOf(m.msgs, id)).toEqual(Array.from({ length: traces[k]?.last_seq ?? 0 }, (_, i) => i + 1));
        });
      }
    }
    for (const m of [...flowMonitors, ...jobMonitors]) m.ws.close();
    await sleep(200);
    const loaded = await inspector.memoryAfterGc();

    expect(await removeAll()).toBe(200);
    const list = (await (await fetch(`${s.url}/api/jobs`)).json()) as { total: number };
    expect(list.total).toBe(0);
    const after = await inspector.memoryAfterGc();
    const f = (m: { rss: number; heapUsed: number }) => `RSS ${m.rss.toFixed(1)} MB, heap ${m.heapUsed.toFixed(1)} MB`;
    console.log(`load: baseline ${f(baseline)}; 200 jobs held ${f(loaded)}; after removeOldJobs ${f(after)}; ${keptUp}/8 flow monitors had no drops`);
    // What the 200 jobs held on the heap is gone (a leak of job data would keep most of it)…
    expect(after.heapUsed - baseline.heapUsed).toBeLessThan(Math.max(2, (loaded.heapUsed - baseline.heapUsed) / 4));
    // …and the process itself is back near where it started (allocators keep some pages).
    expect(after.rss).toBeLessThan(baseline.rss + 40);
  });

  it("a stalled WebSocket client costs only its bounded queue: server memory stays bounded while it floods", async () => {
    await post("/api/flows", {
      flow_id: "flood",
      dsl: { routines: { split: { class: "splitter", config: { field: "items" } }, pass: { class: "passthrough" } }, connections: [{ from: "split.item", to: "pass.input" }] },
    });
    const ws = new WebSocket(`${s.wsUrl}/api/ws/flows/flood/monitor`);
    const msgs: Record<string, unknown>[] = [];
    ws.on("message", (d) => msgs.push(JSON.parse(String(d)) as Record<string, unknown>));
    await new Promise((r) => ws.once("open", r));
    ws.pause(); // stop reading: the kernel buffers fill, then the server's send buffer
    await sleep(200);
    const before = await inspector.memoryAfterGc();
    const items = Array.from({ length: 12_000 }, (_, i) => ({ i, text: "some payload text, 40 characters long.." }));
    let events = 0;
    for (let round = 0; round < 8; round++) {
      const { job_id } = (await post("/api/jobs", { flow_id: "flood", entry_routine_id: "split", entry_slot: "input", entry_params: { items } })) as { job_id: string };
      expect(typeof job_id).toBe("string");
      for (let i = 0; i < 400; i++) {
        const j = (await (await fetch(`${s.url}/api/jobs/${job_id}/trace?limit=1`)).json()) as { last_seq: number; events: { event_type: string }[] };
        if (j.events[0]?.event_type === "job_completed") {
          events += j.last_seq;
          break;
        }
        await sleep(50);
      }
    }
    const now = await inspector.memoryAfterGc();
    const grown = now.rss - before.rss;
    console.log(`stalled client: ${events} events published (~${Math.round((events * 250) / 2 ** 20)} MB of JSON); server RSS grew ${grown.toFixed(1)} MB, heap ${(now.heapUsed - before.heapUsed).toFixed(1)} MB, buffers ${(now.arrayBuffers - before.arrayBuffers).toFixed(1)} MB`);
    expect(events).toBeGreaterThan(300_000);
    expect(grown).toBeLessThan(60);
    // Socket and queue buffers stay bounded: nowhere near the ~92 MB the client did not read.
    expect(now.arrayBuffers - before.arrayBuffers).toBeLessThan(16);
    // Once it reads again it is told what it missed.
    ws.resume();
    for (let i = 0; i < 100 && !msgs.some((m) => m.type === "events_dropped"); i++) await sleep(50);
    expect(msgs.some((m) => m.type === "events_dropped")).toBe(true);
    ws.close();
    expect((await (await fetch(`${s.url}/api/health`)).json()).status).toBe("healthy");
  });
});
