/**
 * Each job keeps the flow it started on (its FlowDetail as served then): in memory while the
 * process holds the job, in history (schema v3) after a restart, whatever became of the flow since.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type Job, routineRegistry, Runtime } from "../../lib";
import type { Db } from "../../lib/persistence";
import { flowDetail } from "../../lib/runtime/flow-detail";

const dir = mkdtempSync(join(tmpdir(), "routilux-jobflow-"));
let fileCounter = 0;
const dbFile = (): string => join(dir, `f${++fileCounter}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PIPELINE = {
  routines: { a: { class: "passthrough" }, b: { class: "filter", config: { condition: "x > 1" } } },
  connections: [{ from: "a.output", to: "b.input" }],
};

let runtimes: Runtime[] = [];
afterEach(() => {
  for (const r of runtimes) r.close();
  runtimes = [];
  forget(new Runtime());
});

function open(path: string, retentionJobs?: number): Runtime {
  const r = new Runtime({ persistence: { path, ...(retentionJobs === undefined ? {} : { retentionJobs }) } });
  runtimes.push(r);
  return r;
}

/** Drops this process's jobs and flow breakpoints, as a new process would not have them. */
function forget(r: Runtime): void {
  const m = r.monitoring;
  for (const job of m.jobStore.list().jobs) job.cancel("restart");
  for (const job of m.jobStore.list().jobs) m.jobStore.remove(job.jobId);
  for (const bp of m.breakpointManager.getAllFlowBreakpoints()) m.breakpointManager.removeBreakpoint(bp.breakpoint_id);
}

function restart(r: Runtime, path: string): Runtime {
  r.close();
  runtimes = runtimes.filter((x) => x !== r);
  forget(r);
  for (const f of r.flows) r.deleteFlow(f.flowId);
  return open(path);
}

function dbOf(r: Runtime): Db {
  if (!r.persistence) throw new Error("no persistence");
  return r.persistence.db;
}

const count = (db: Db, sql: string): number => (db.prepare(sql).get() as { n: number }).n;

async function run(r: Runtime, x: number, flowId = "pipeline"): Promise<Job> {
  const job = r.startJob({ flow_id: flowId, entry_routine_id: "a", entry_slot: "input", entry_params: { x } });
  await job.done;
  return job;
}

describe("the flow a job ran", () => {
  it("is the flow as it was when the job started, through an edit, a restart and the flow's deletion", async () => {
    const path = dbFile();
    const r1 = open(path);
    const flow = r1.createFlow("pipeline", PIPELINE);
    const first = await run(r1, 2);
    const asServed = flowDetail(flow, routineRegistry);
    expect(r1.jobFlow(first.jobId)).toEqual({ job_id: first.jobId, flow_id: "pipeline", flow: asServed, recorded: true, served: true, same_structure: true });

    // An edit of the graph: the old job keeps its picture, and says the flow has changed.
    flow.addRoutine(routineRegistry.create("passthrough"), "c");
    flow.connect("b", "output", "c", "input");
    r1.flowChanged("pipeline");
    expect(r1.jobFlow(first.jobId)).toMatchObject({ flow: asServed, served: true, same_structure: false });
    const second = await run(r1, 3);
    expect(Object.keys(r1.jobFlow(second.jobId).flow?.routines ?? {})).toEqual(["a", "b", "c"]);
    expect(r1.jobFlow(second.jobId).same_structure).toBe(true);
    // A running job: recorded at its start too.
    const paused = r1.startJob({ flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 4 }, pause_on_start: true });
    expect(r1.jobFlow(paused.jobId)).toMatchObject({ recorded: true, served: true, same_structure: true });
    expect(r1.jobFlow(paused.jobId).flow).toEqual(r1.jobFlow(second.jobId).flow);
    paused.cancel("done");
    await paused.done;
    r1.persistence?.flush();
    // One row per structure, however many jobs ran it.
    expect(count(dbOf(r1), "SELECT COUNT(*) AS n FROM flow_structures")).toBe(2);
    const before = [first, second, paused].map((j) => JSON.stringify(r1.jobFlow(j.jobId)));

    // After a restart: the same answers (the edited flow was saved and is served again).
    const r2 = restart(r1, path);
    expect([first, second, paused].map((j) => JSON.stringify(r2.jobFlow(j.jobId)))).toEqual(before);

    // The flow deleted: every job still has its picture, no longer served.
    r2.deleteFlow("pipeline");
    expect(r2.jobFlow(first.jobId)).toEqual({ job_id: first.jobId, flow_id: "pipeline", flow: asServed, recorded: true, served: false, same_structure: false });
    expect(r2.jobFlow(second.jobId)).toMatchObject({ recorded: true, served: false, same_structure: false });
    expect(() => r2.jobFlow("job_unknown")).toThrow(/not found/);
  });

  it("follows every kind of change: routine config, slots and events, connections, strategy, timeout; the example alone is not a change of structure", async () => {
    const r = new Runtime();
    runtimes.push(r);
    const flow = r.createFlow("pipeline", PIPELINE);
    const jobs: Job[] = [await run(r, 2)];
    const changes: (() => void)[] = [
      () => flow.getRoutine("b")?.setConfig({ condition: "x > 5" }),
      () => flow.getRoutine("b")?.defineEvent("audited"),
      () => flow.connect("a", "output", "b", "input2"),
      () => flow.setExecutionStrategy("concurrent", 3),
      () => {
        flow.timeout = 30;
      },
      () => flow.removeRoutine("b"),
    ];
    flow.getRoutine("b")?.defineSlot("input2", () => {});
    jobs.push(await run(r, 2));
    for (const change of changes) {
      change();
      jobs.push(await run(r, 2));
    }
    const details = jobs.map((j) => r.jobFlow(j.jobId).flow);
    // Every job saw a different flow, each as it was when the job started.
    expect(new Set(details.map((d) => JSON.stringify(d))).size).toBe(details.length);
    expect(details[0]?.routines.b?.slots).toEqual(["input"]);
    expect(details[1]?.routines.b?.slots).toEqual(["input", "input2"]);
    expect(details[2]?.routines.b?.config).toEqual({ condition: "x > 5" });
    expect(details[3]?.routines.b?.events).toContain("audited");
    expect(details[4]?.connections.map((c) => c.id)).toContain("a.output:b.input2");
    expect(details[5]).toMatchObject({ execution_strategy: "concurrent", max_workers: 3 });
    expect(details[6]?.timeout).toBe(30);
    expect(Object.keys(details[7]?.routines ?? {})).toEqual(["a"]);
    expect(jobs.map((j) => r.jobFlow(j.jobId).same_structure)).toEqual([false, false, false, false, false, false, false, true]);

    // An example run set afterwards: the last job still ran the served structure.
    flow.setExample({ entryRoutineId: "a", params: { x: 9 } });
    expect(r.jobFlow((jobs.at(-1) as Job).jobId)).toMatchObject({ same_structure: true, flow: { example: null } });
  });

  it("structures no job refers to any more leave the database with the last job", async () => {
    const path = dbFile();
    const r = open(path, 1);
    const flow = r.createFlow("pipeline", PIPELINE);
    await run(r, 2);
    r.persistence?.flush();
    flow.getRoutine("b")?.setConfig({ condition: "x > 9" });
    const kept = await run(r, 2);
    r.persistence?.flush();
    const db = dbOf(r);
    expect(count(db, "SELECT COUNT(*) AS n FROM jobs")).toBe(1);
    expect(count(db, "SELECT COUNT(*) AS n FROM flow_structures")).toBe(1);
    expect((db.prepare("SELECT s.detail FROM flow_structures s JOIN jobs j ON j.flow_key = s.key").get() as { detail: string }).detail).toContain("x > 9");
    expect(r.jobFlow(kept.jobId).flow?.routines.b?.config).toEqual({ condition: "x > 9" });
  });

  it("a job stored before flows were recorded: the served flow, or nothing when it is not served", async () => {
    const path = dbFile();
    const r1 = open(path);
    r1.createFlow("pipeline", PIPELINE);
    r1.createFlow("gone", PIPELINE);
    const a = await run(r1, 2);
    const b = await run(r1, 2, "gone");
    r1.persistence?.flush();
    // As a database written by the previous version: no flow with its jobs.
    dbOf(r1).exec("UPDATE jobs SET flow_key = NULL; DELETE FROM flow_structures;");
    const r2 = restart(r1, path);
    r2.deleteFlow("gone");
    expect(r2.jobFlow(a.jobId)).toEqual({ job_id: a.jobId, flow_id: "pipeline", flow: flowDetail(r2.getFlow("pipeline"), routineRegistry), recorded: false, served: true, same_structure: null });
    expect(r2.jobFlow(b.jobId)).toEqual({ job_id: b.jobId, flow_id: "gone", flow: null, recorded: false, served: false, same_structure: false });
  });
});
