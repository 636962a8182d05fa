/**
 * Many sockets on one job (issue 14): 1,000 raw WebSocket monitors
 * (`/api/ws/jobs/{id}/monitor?after_seq=0`) watch one ~2,000-event job on a real server. The job
 * starts paused (pause_on_start), every monitor connects, then it is resumed; the fan-out of its
 * events to all sockets runs under `underProbe`, which polls /api/health and reads the server's
 * event-loop delay. Reported: loop p99/max and health p50/p99/max against the targets (loop max
 * < 100 ms, health p99 < 100 ms), and what the monitors received (events, seq gaps, drop notices).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { api as apiOn, waitUntil as waitFor } from "./lib/http";
import { describeLoop, underProbe } from "./lib/loop-probe";
import { startServer, type TestServer } from "../tests/helpers/server";

const MONITORS = 1_000;
/** Splitter items: each gives 4 trace events (its emit, the passthrough's start, emit, complete). */
const ITEMS = 499;
const FLOW_ID = "bench_sockets";
const TIMEOUT_MS = 120_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const api = (server: TestServer, method: string, path: string, body?: unknown) => apiOn(server, method, path, body, 30_000);
const waitUntil = (what: string, pred: () => boolean): Promise<void> => waitFor(what, pred, TIMEOUT_MS, 20);
const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

export async function socketsBench(): Promise<boolean> {
  console.log(`\n## Many sockets on one job: ${fmt(MONITORS)} raw WebSocket monitors on one job (splitter of ${ITEMS} items → passthrough), real server on loopback`);
  const server = await startServer({ ROUTILUX_DEMO: "0", ROUTILUX_CHECK_WIRE: "0" });
  const killServer = (): void => {
    server.process.kill("SIGKILL");
  };
  process.once("exit", killServer);
  let readers: ChildProcess | null = null;
  try {
    await api(server, "POST", "/api/flows", {
      flow_id: FLOW_ID,
      dsl: { routines: { split: { class: "splitter" }, pass: { class: "passthrough" } }, connections: [{ from: "split.item", to: "pass.input" }] },
    });
    const body = { flow_id: FLOW_ID, entry_routine_id: "split", entry_slot: "input", entry_params: { items: Array.from({ length: ITEMS }, (_, i) => i) } };
    const jobId = (await api(server, "POST", "/api/jobs", { ...body, pause_on_start: true })).job_id as string;
    const path = `/api/ws/jobs/${jobId}/monitor?after_seq=0`;
    const child = spawn(process.execPath, ["--import", "tsx", "bench/lib/socket-readers.ts", String(server.port), path, String(MONITORS)], { stdio: ["ignore", "pipe", "inherit"] });
    readers = child;
    const lines = createInterface({ input: child.stdout });
    const reports: Record<string, unknown>[] = [];
    lines.on("line", (line) => reports.push(JSON.parse(line) as Record<string, unknown>));
    await waitUntil("every monitor's connected message", () => reports.some((r) => r.ready === true) || child.exitCode !== null);
    // The floor on this machine: the same server with every socket open and nothing running
    // (on a loaded machine an idle loop alone shows delays).
    const idle = await underProbe(server.url, () => sleep(3_000));
    let totalEvents = 0;
    const figures = await underProbe(server.url, async () => {
      await api(server, "POST", `/api/jobs/${jobId}/resume`);
      await waitUntil("every monitor to see the job end (or its socket close)", () => reports.some((r) => r.done === true) || child.exitCode !== null);
      totalEvents = (await api(server, "GET", `/api/jobs/${jobId}/metrics`)).total_events as number;
    });
    const result = reports.find((r) => r.done === true) as { events: number[]; gaps: number; drops: number; complete: number } | undefined;
    if (result === undefined) throw new Error("the readers did not report");
    const delivered = result.events.reduce((s, n) => s + n, 0);
    console.log(describeLoop(`idle, ${fmt(MONITORS)} sockets open (the floor)`, idle));
    console.log(describeLoop(`${fmt(MONITORS)} monitors × ${fmt(totalEvents)} events`, figures));
    console.log(
      `delivered ${fmt(delivered)} of ${fmt(totalEvents * MONITORS)} events; ${result.complete}/${MONITORS} monitors complete (every seq, in order); ${result.gaps} seq gaps, ${result.drops} events_dropped notices (readers in a child process)`,
    );
    return figures.loopMaxMs < 100 && figures.healthP99Ms < 100;
  } finally {
    readers?.kill();
    await server.stop();
    process.off("exit", killServer);
  }
}
