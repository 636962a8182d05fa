/**
 * History writes that fail at run time, on a real database file: the failures are SQLite's own
 * (`PRAGMA query_only` makes every write of the server's connection fail with SQLITE_READONLY,
 * as a file system turned read-only would; a temporary trigger fails one statement late in a
 * tick), so these run anywhere, without root. The file-system
 * versions (a full tmpfs, an immutable file) are in tests/integration/history-durability.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { isRoutiluxError, Runtime } from "../../lib";
import type { Db } from "../../lib/persistence";
import { waitFor } from "../helpers/flows";

const dir = mkdtempSync(join(tmpdir(), "routilux-failures-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PIPELINE = { routines: { a: { class: "passthrough" } }, connections: [] };

let runtimes: Runtime[] = [];
afterEach(() => {
  for (const r of runtimes) r.close();
  runtimes = [];
  const m = new Runtime().monitoring;
  for (const job of m.jobStore.list().jobs) job.cancel("test cleanup");
  for (const job of m.jobStore.list().jobs) m.jobStore.remove(job.jobId);
  vi.restoreAllMocks();
});

function open(): { r: Runtime; db: Db } {
  const r = new Runtime({ persistence: { path: join(dir, `f${++n}.db`) } });
  runtimes.push(r);
  r.createFlow("pipeline", PIPELINE);
  return { r, db: (r.persistence as NonNullable<Runtime["persistence"]>).db };
}

const start = (r: Runtime, x: number) => r.startJob({ flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: { x } });

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    return isRoutiluxError(err) ? `${err.status} ${err.code}` : String(err);
  }
  return null;
}

const rowOf = (db: Db, jobId: string) => db.prepare("SELECT status FROM jobs WHERE job_id = ?").get(jobId) as { status: string } | undefined;

describe("acknowledgements", () => {
  it("a started job's row is in the file when startJob returns (before any batch), and a created flow's", () => {
    const { r, db } = open();
    const job = start(r, 1);
    // Read before the job's first activation and before the writer's first tick.
    expect(rowOf(db, job.jobId)).toBeDefined();
    r.createFlow("second", PIPELINE);
    expect(db.prepare("SELECT flow_id FROM flows WHERE flow_id = 'second'").get()).toEqual({ flow_id: "second" });
  });
});

describe("write failures", () => {
  it("are answered 503 HISTORY_UNAVAILABLE (nothing started, nothing created), logged once, reported by health, and recover", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const { r, db } = open();
    const before = r.monitoring.jobStore.list().total;
    db.pragma("query_only = 1");

    // The first start meets the failure while writing its row; the next ones are refused upfront.
    expect(codeOf(() => start(r, 1))).toBe("503 HISTORY_UNAVAILABLE");
    expect(codeOf(() => start(r, 2))).toBe("503 HISTORY_UNAVAILABLE");
    expect(r.monitoring.jobStore.list().total).toBe(before);
    expect(codeOf(() => r.createFlow("during", PIPELINE))).toBe("503 HISTORY_UNAVAILABLE");
    expect(r.hasFlow("during")).toBe(false);
    const health = r.health();
    expect(health.status).toBe("degraded");
    expect(health.reasons.join("\n")).toMatch(/cannot be written.*readonly.*SQLITE_READONLY/);
    // Retries run meanwhile (backing off); the outage is logged once.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(errors.mock.calls.filter((c) => String(c[0]).includes("cannot write")).length).toBe(1);

    db.pragma("query_only = 0");
    await waitFor(() => r.health().status === "healthy", 15_000);
    expect(errors.mock.calls.filter((c) => String(c[0]).includes("is written again")).length).toBe(1);
    const job = start(r, 3);
    expect(rowOf(db, job.jobId)).toBeDefined();
    expect(r.hasFlow("during")).toBe(false);
  });

  it("a job that ends during an outage has its end written once writes succeed again", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { r, db } = open();
    const job = start(r, 1);
    // A failure late in the tick, after the ended job's rows were queued (as SQLITE_FULL at
    // COMMIT would be): a temporary trigger refuses the flow breakpoint the same tick writes.
    db.exec("CREATE TEMP TRIGGER refuse_breakpoints BEFORE INSERT ON main.breakpoints BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END");
    r.monitoring.breakpointManager.setBreakpoint({ flow_id: "pipeline", job_id: null, routine_id: "a", hit_condition: ">= 1000" });
    await job.done;
    expect(job.status).toBe("completed");
    r.persistence?.flush();
    expect(r.health().status).toBe("degraded");
    expect(rowOf(db, job.jobId)?.status).toBe("running");

    db.exec("DROP TRIGGER temp.refuse_breakpoints");
    r.persistence?.flush();
    expect(r.health().status).toBe("healthy");
    expect(rowOf(db, job.jobId)?.status).toBe("completed");
    expect((db.prepare("SELECT count(*) AS n FROM events WHERE job_id = ?").get(job.jobId) as { n: number }).n).toBeGreaterThan(0);
  });
});
