/**
 * One server per history file: a second opener fails at once with an error naming the file and
 * the server that holds it; a holder killed with SIGKILL leaves no lock behind (its owner record
 * may stay, and never blocks).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Runtime } from "../../lib";
import { HistoryInUseError, openDatabase, ownerPath, readOwner } from "../../lib/persistence";

const dir = mkdtempSync(join(tmpdir(), "routilux-lock-"));
let fileCounter = 0;
const dbFile = (): string => join(dir, `h${++fileCounter}.db`);
const children: ChildProcess[] = [];
let runtimes: Runtime[] = [];

afterEach(() => {
  for (const r of runtimes) r.close();
  runtimes = [];
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function open(path: string): Runtime {
  const r = new Runtime({ persistence: { path } });
  runtimes.push(r);
  return r;
}

/** The error opening `path` throws (fails the test when it opens). */
function openError(path: string): HistoryInUseError {
  try {
    open(path);
  } catch (err) {
    expect(err).toBeInstanceOf(HistoryInUseError);
    return err as HistoryInUseError;
  }
  throw new Error(`${path} opened although it is held`);
}

const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const SINCE = "since (\\d{4}-\\d\\d-\\d\\d )?\\d\\d:\\d\\d:\\d\\d";

/** A child process holding `path` (tests/helpers/hold-history.ts), once it has written a job. */
async function holder(path: string): Promise<{ child: ChildProcess; jobId: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "tests/helpers/hold-history.ts", path], { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout?.on("data", (d) => {
    out += String(d);
  });
  child.stderr?.on("data", (d) => {
    out += String(d);
  });
  for (let i = 0; i < 600; i++) {
    const m = /held (\d+) (\S+)/.exec(out);
    if (m) return { child, jobId: m[2] as string };
    if (child.exitCode !== null) throw new Error(`holder exited (${child.exitCode}):\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`holder did not start:\n${out}`);
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(p, "exit");
  return p.pid as number;
}

describe("one server per history file", () => {
  it("a second opener fails at once with the file and the holder's pid and start; after the holder is killed with SIGKILL the file opens, with its history", async () => {
    const path = dbFile();
    const { child, jobId } = await holder(path);
    const err = openError(path);
    expect(err.message).toMatch(new RegExp(`^History database ${literal(resolve(path))} is in use by another Routilux server \\(pid ${child.pid}, ${SINCE}\\)\\. Stop it, or give this one another --db\\.$`));
    expect(err).toMatchObject({ code: "HISTORY_IN_USE", details: { path: resolve(path), owner: { pid: child.pid } } });

    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
    // The crashed server's owner record is still there: it names a dead process and blocks nothing.
    expect(readOwner(path)?.pid).toBe(child.pid);
    const r = open(path);
    expect(readOwner(path)?.pid).toBe(process.pid);
    expect(r.listJobs().jobs.map((j) => j.job_id)).toEqual([jobId]);
    expect(r.jobFlow(jobId)).toMatchObject({ recorded: true, served: true, same_structure: true });
  }, 60_000);

  it("a second open in the same process fails too; closing releases the file and removes the owner record", () => {
    const path = dbFile();
    const first = open(path);
    expect(readOwner(path)).toMatchObject({ pid: process.pid });
    expect(openError(path).message).toMatch(new RegExp(`^History database ${literal(resolve(path))} is already open in this process \\(${SINCE}\\)`));
    first.close();
    expect(existsSync(ownerPath(resolve(path)))).toBe(false);
    open(path);
  });

  it("a file held by a connection that is not a server: the error says another process, whatever a leftover owner record says", async () => {
    const path = dbFile();
    const raw = openDatabase(path);
    try {
      expect(openError(path).message).toBe(`History database ${resolve(path)} is in use by another process. Stop it, or give this one another --db.`);
      // A record left by a crashed server does not name that dead server as the holder.
      writeFileSync(ownerPath(resolve(path)), JSON.stringify({ pid: await deadPid(), host: hostname(), started_at: new Date().toISOString() }));
      expect(openError(path).message).toBe(`History database ${resolve(path)} is in use by another process. Stop it, or give this one another --db.`);
    } finally {
      raw.close();
    }
    open(path);
    expect(readOwner(path)?.pid).toBe(process.pid);
  });

  it("a stale owner record of a dead process on this host does not block a start", async () => {
    const path = dbFile();
    open(path).close();
    runtimes = [];
    const dead = await deadPid();
    writeFileSync(ownerPath(resolve(path)), JSON.stringify({ pid: dead, host: hostname(), started_at: "2020-01-01T00:00:00.000Z" }));
    open(path);
    expect(readOwner(path)?.pid).toBe(process.pid);
  });

  it("a database in memory is never locked", () => {
    open(":memory:");
    open(":memory:");
  });
});
