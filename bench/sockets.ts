/**
 * Many sockets on one job (issue 14): 1,000 raw WebSocket monitors
 * (`/api/ws/jobs/{id}/monitor?after_seq=0`) watch one ~2,000-event job on a real server. The job
 * starts paused (pause_on_start), every monitor connects, then it is resumed; the fan-out of its
 * events to all sockets runs under `underProbe`, which polls /api/health and reads the server's
 * event-loop delay. Reported: loop p99/max and health p50/p99/max against the targets (loop max
 * < 100 ms, health p99 < 100 ms), and what the monitors received (events, seq gaps, drop notices).
 */
import { describeLoop, underProbe } from "./lib/loop-probe";
import { Histogram, Reader } from "./server-fanout";
import { startServer, type TestServer } from "../tests/helpers/server";

const MONITORS = 1_000;
/** Splitter items: each gives 4 trace events (its emit, the passthrough's start, emit, complete). */
const ITEMS = 499;
const FLOW_ID = "bench_sockets";
const TIMEOUT_MS = 120_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

async function api(server: TestServer, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

async function waitUntil(what: string, pred: () => boolean, timeoutMs = TIMEOUT_MS): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export async function socketsBench(): Promise<boolean> {
  console.log(`\n## Many sockets on one job: ${fmt(MONITORS)} raw WebSocket monitors on one job (splitter of ${ITEMS} items → passthrough), real server on loopback`);
  const server = await startServer({ ROUTILUX_DEMO: "0", ROUTILUX_CHECK_WIRE: "0" });
  const killServer = (): void => {
    server.process.kill("SIGKILL");
  };
  process.once("exit", killServer);
  const readers: Reader[] = [];
  try {
    await api(server, "POST", "/api/flows", {
      flow_id: FLOW_ID,
      dsl: { routines: { split: { class: "splitter" }, pass: { class: "passthrough" } }, connections: [{ from: "split.item", to: "pass.input" }] },
    });
    const body = { flow_id: FLOW_ID, entry_routine_id: "split", entry_slot: "input", entry_params: { items: Array.from({ length: ITEMS }, (_, i) => i) } };
    const jobId = (await api(server, "POST", "/api/jobs", { ...body, pause_on_start: true })).job_id as string;
    const path = `/api/ws/jobs/${jobId}/monitor?after_seq=0`;
    const latencies = new Histogram();
    // Connected in groups, so the handshakes do not queue up behind each other.
    for (let i = 0; i < MONITORS; i += 50) {
      const group: Reader[] = [];
      for (let k = i; k < Math.min(MONITORS, i + 50); k++) group.push(new Reader(server.port, path, latencies, "job_resumed"));
      await Promise.all(group.map((r) => r.client.opened));
      readers.push(...group);
    }
    await waitUntil("every monitor's connected message", () => readers.every((r) => r.connected));
    let totalEvents = 0;
    const figures = await underProbe(server.url, async () => {
      await api(server, "POST", `/api/jobs/${jobId}/resume`);
      await waitUntil("every monitor to see the job end (or its socket close)", () => readers.every((r) => r.finalSeq > 0 || r.client.socket.destroyed));
      totalEvents = (await api(server, "GET", `/api/jobs/${jobId}/metrics`)).total_events as number;
    });
    const complete = readers.filter((r) => r.gaps === 0 && r.dropNotices === 0 && r.events === totalEvents && r.finalSeq === totalEvents).length;
    const delivered = readers.reduce((s, r) => s + r.events, 0);
    const gaps = readers.reduce((s, r) => s + r.gaps, 0);
    const drops = readers.reduce((s, r) => s + r.dropNotices, 0);
    console.log(describeLoop(`${fmt(MONITORS)} monitors × ${fmt(totalEvents)} events`, figures));
    console.log(
      `delivered ${fmt(delivered)} of ${fmt(totalEvents * MONITORS)} events; ${complete}/${MONITORS} monitors complete (every seq, in order); ${gaps} seq gaps, ${drops} events_dropped notices`,
    );
    return figures.loopMaxMs < 100 && figures.healthP99Ms < 100;
  } finally {
    for (const r of readers) r.client.close();
    await server.stop();
    process.off("exit", killServer);
  }
}
