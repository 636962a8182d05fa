/**
 * Run diff of two 10,000-event jobs through the real server (target < 200 ms): GET /api/jobs/diff
 * as a client sees it, and the pure comparison alone (activationsOf + diffRuns, in this process, on
 * the same jobs' input/output rows read over GET /api/jobs/{id}/io).
 *
 * The jobs: a splitter of 2,500 items → passthrough (one activation emitting 2,500 items, then
 * 2,500 activations each emitting once: 10,003 trace events). The second job's last item differs,
 * so every activation is compared before the divergence is found at the very end. The payload
 * budget is raised so every payload is kept in full (7,501 rows, ~1.1 MB of JSON with the rows'
 * overhead: the 1 MiB default would leave the last few hundred as previews).
 */
import { diffRuns, type RunRecord } from "../lib/runtime/run-diff";
import { activationsOf, answerRow } from "../lib/runtime/run-source";
import { type JobDiff, JobDiffSchema, type JobIoPage } from "../lib/wire";
import { startServer, type TestServer } from "../tests/helpers/server";
import { median } from "./engine-chain";
import { api } from "./lib/http";

const ITEMS = 2_500;
const FLOW_ID = "bench_diff";
const RUNS = 15;
const TARGET_MS = 200;

async function finishedJob(server: TestServer, items: number[]): Promise<string> {
  const job = await api(server, "POST", "/api/jobs", { flow_id: FLOW_ID, entry_routine_id: "split", entry_slot: "input", entry_params: { items } });
  const jobId = job.job_id as string;
  let status = "";
  const poll = async () => {
    status = (await api(server, "GET", `/api/jobs/${jobId}`)).status as string;
  };
  await poll();
  const start = Date.now();
  while (status !== "completed") {
    if (status === "failed" || status === "cancelled" || Date.now() - start > 30_000) throw new Error(`bench job ${jobId} ended ${status}`);
    await new Promise((r) => setTimeout(r, 20));
    await poll();
  }
  // Its end is written to history on the writer's next tick; its payloads are then read from there.
  await new Promise((r) => setTimeout(r, 1000));
  return jobId;
}

/** The run as the server's glue builds it, from the same rows (the io route pages them). */
async function runOf(server: TestServer, jobId: string): Promise<RunRecord> {
  const snap = await api(server, "GET", `/api/jobs/${jobId}`);
  const rows: JobIoPage["rows"] = [];
  let truncated = false;
  for (let after = 0; ; ) {
    const page = (await api(server, "GET", `/api/jobs/${jobId}/io?after_seq=${after}&limit=1000`)) as unknown as JobIoPage;
    rows.push(...page.rows);
    truncated ||= page.payloads.truncated;
    const last = page.rows.at(-1);
    if (!page.has_more || last === undefined) break;
    after = last.seq;
  }
  const metrics = await api(server, "GET", `/api/jobs/${jobId}/metrics`);
  const durations = Object.fromEntries(Object.entries(metrics.routine_metrics as Record<string, { duration_ms: number }>).map(([id, m]) => [id, m.duration_ms]));
  const { activations, orphans } = activationsOf(rows.map(answerRow));
  return {
    jobId,
    flowId: FLOW_ID,
    status: "completed",
    forkedFrom: null,
    activations,
    durations,
    connectionCounts: snap.connection_counts as Record<string, number>,
    routineIds: ["pass", "split"],
    connectionIds: Object.keys(snap.connection_counts as object),
    approximate: truncated || orphans > 0,
  };
}

function ms(values: number[]): string {
  return `median ${median(values).toFixed(1)} ms, min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)}`;
}

export async function diffBench(): Promise<void> {
  console.log(`\n## Run diff of two ~10,000-event jobs (splitter of ${ITEMS.toLocaleString("en-US")} items → passthrough; they differ at the last item), target < ${TARGET_MS} ms`);
  const server = await startServer({ ROUTILUX_DEMO: "0", ROUTILUX_CHECK_WIRE: "0", ROUTILUX_PAYLOAD_BUDGET_BYTES: String(8 * 1024 * 1024) });
  const killServer = (): void => {
    server.process.kill("SIGKILL");
  };
  process.once("exit", killServer);
  try {
    await api(server, "POST", "/api/flows", {
      flow_id: FLOW_ID,
      dsl: { routines: { split: { class: "splitter" }, pass: { class: "passthrough" } }, connections: [{ from: "split.item", to: "pass.input" }] },
    });
    const items = Array.from({ length: ITEMS }, (_, i) => i);
    const base = await finishedJob(server, items);
    const other = await finishedJob(server, [...items.slice(0, -1), -1]);
    const events = [(await api(server, "GET", `/api/jobs/${base}/metrics`)).total_events, (await api(server, "GET", `/api/jobs/${other}/metrics`)).total_events];

    const http: number[] = [];
    let answer: JobDiff | null = null;
    for (let i = 0; i < RUNS + 2; i++) {
      const t0 = performance.now();
      const json = await api(server, "GET", `/api/jobs/diff?base=${base}&other=${other}`);
      const t = performance.now() - t0;
      // Two warm-up calls.
      if (i >= 2) http.push(t);
      answer = JobDiffSchema.parse(json);
    }

    // For scale: one job's rows in one answer of GET /api/jobs/{id}/io (what the diff reads, twice).
    const io: number[] = [];
    for (let i = 0; i < RUNS + 2; i++) {
      const t0 = performance.now();
      await api(server, "GET", `/api/jobs/${base}/io?limit=1000`);
      const t = performance.now() - t0;
      if (i >= 2) io.push(t);
    }

    const runs = [await runOf(server, base), await runOf(server, other)] as const;
    const rows = runs.reduce((n, r) => n + r.activations.reduce((m, a) => m + 1 + a.outputs.length, 0), 0);
    const pure: number[] = [];
    for (let i = 0; i < RUNS + 2; i++) {
      const t0 = performance.now();
      diffRuns(runs[0], runs[1]);
      const t = performance.now() - t0;
      if (i >= 2) pure.push(t);
    }

    const fd = answer?.first_divergence;
    console.log(`events per job: ${events.join(", ")}; ${rows.toLocaleString("en-US")} input/output rows in both; approximate: ${answer?.approximate}`);
    console.log(`first divergence: ${fd?.routine_id} #${fd?.index} (${fd?.what}, base seq ${fd?.base.seq}); routines: ${answer?.routines.map((r) => `${r.routine_id} ${r.diff} ${r.equal_activations}/${r.base_activations}`).join(", ")}`);
    console.log(`GET /api/jobs/diff (finished jobs, 1 s after their end; ${RUNS} calls): ${ms(http)}  [target < ${TARGET_MS} ms: ${median(http) < TARGET_MS ? "met" : "NOT met"}]`);
    console.log(`for scale, GET /api/jobs/{id}/io?limit=1000 (a page of 1,000 rows): ${ms(io)}`);
    console.log(`pure comparison (diffRuns over both runs' activations; ${RUNS} runs): ${ms(pure)}`);
  } finally {
    process.off("exit", killServer);
    await server.stop();
  }
}
