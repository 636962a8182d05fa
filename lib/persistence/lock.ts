/**
 * One server per history file. The lock is SQLite's own: the database is opened in EXCLUSIVE
 * locking mode and written at once, so the file stays locked as long as the connection is open,
 * and the kernel drops the lock when the process dies (kill -9 included): a crash never leaves a
 * lock behind. A small owner record beside the database (`<file>.owner`: pid, host, start time)
 * only serves to name the holder in the error a second server gets; it never decides anything.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { branded, RoutiluxError } from "../wire/errors";

/** Who holds a history file, as its owner record says. */
export interface HistoryOwner {
  pid: number;
  host: string;
  /** ISO-8601. */
  started_at: string;
}

/** The history file is held by another connection (another server, or another tool). */
export class HistoryInUseError extends RoutiluxError {
  declare readonly details: { path: string; owner: HistoryOwner | null };

  constructor(path: string, owner: HistoryOwner | null) {
    super("HISTORY_IN_USE", inUseMessage(path, owner), { kind: "conflict", details: { path, owner } });
  }
}
branded("HistoryInUseError", HistoryInUseError);

export function ownerPath(dbPath: string): string {
  return `${dbPath}.owner`;
}

/** The owner record beside `dbPath`, or null when there is none or it cannot be read. */
export function readOwner(dbPath: string): HistoryOwner | null {
  try {
    const o = JSON.parse(readFileSync(ownerPath(dbPath), "utf8")) as Partial<HistoryOwner>;
    if (typeof o.pid !== "number" || !Number.isInteger(o.pid) || o.pid <= 0 || typeof o.host !== "string" || typeof o.started_at !== "string") return null;
    return { pid: o.pid, host: o.host, started_at: o.started_at };
  } catch {
    return null;
  }
}

/** Writes this process's owner record (call once the lock is held). Atomic: written aside, then renamed. */
export function writeOwner(dbPath: string, startedAt = new Date()): HistoryOwner {
  const owner: HistoryOwner = { pid: process.pid, host: hostname(), started_at: startedAt.toISOString() };
  const target = ownerPath(dbPath);
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(owner)}\n`);
  renameSync(tmp, target);
  return owner;
}

/** Removes the owner record if it is still `owner`'s (a later holder's is left alone). */
export function removeOwner(dbPath: string, owner: HistoryOwner): void {
  const now = readOwner(dbPath);
  if (now && now.pid === owner.pid && now.host === owner.host && now.started_at === owner.started_at) rmSync(ownerPath(dbPath), { force: true });
}

/** Whether the record's process may still be running: known dead only for a gone pid on this host. */
export function ownerMayBeAlive(owner: HistoryOwner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function inUseMessage(path: string, owner: HistoryOwner | null): string {
  const advice = "Stop it, or give this one another --db.";
  // A record whose process is gone is a leftover: whatever holds the file now is something else.
  if (!owner || !ownerMayBeAlive(owner)) return `History database ${path} is in use by another process. ${advice}`;
  const since = sinceText(owner.started_at);
  const where = owner.host === hostname() ? "" : ` on ${owner.host}`;
  if (owner.pid === process.pid && where === "") return `History database ${path} is already open in this process (since ${since}). Close it first, or give this one another --db.`;
  return `History database ${path} is in use by another Routilux server (pid ${owner.pid}${where}, since ${since}). ${advice}`;
}

/** Local clock time, with the date when it is not today. */
function sinceText(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number): string => String(n).padStart(2, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const today = new Date();
  return d.toDateString() === today.toDateString() ? time : `${day} ${time}`;
}
