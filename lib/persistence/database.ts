/**
 * Opens the SQLite file (better-sqlite3): locked for this connection alone, WAL, checked
 * (`quick_check` and a real write), migrations. Loaded lazily: nothing opens at import.
 */
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { HistoryUnusableError } from "./errors";
import { HistoryInUseError, readOwner } from "./lock";
import { migrate, SCHEMA_VERSION } from "./schema";

export type Db = BetterSqlite3.Database;

/**
 * How long a second opener waits for the lock before it gives up (ms). The holder keeps it until
 * it closes, so waiting longer would only delay the error; the wait covers a holder that is just
 * closing (a restart).
 */
const LOCK_WAIT_MS = 250;

/** At most this many of quick_check's findings go into the message. */
const PROBLEMS_SHOWN = 3;

export interface OpenOptions {
  /** Serve an existing file without ever writing it (no lock of ours beyond SQLite's shared one). */
  readOnly?: boolean;
}

/** SQLite's result codes that say the file (or the file system) refuses writes. */
const UNWRITABLE = /^SQLITE_(READONLY|CANTOPEN|PERM|FULL|IOERR|AUTH)/;
/** ... and those that say its content is not a sound database. */
const DAMAGED = /^SQLITE_(CORRUPT|NOTADB)/;

function sqliteCode(err: unknown): string {
  return String((err as { code?: unknown }).code ?? "");
}

/** SQLite's message with its extended code (the code says which I/O step failed). */
function problemOf(err: unknown): string {
  const code = sqliteCode(err);
  return code ? `${(err as Error).message}, ${code}` : (err as Error).message;
}

/**
 * `path` is a file (its folder is created) or `:memory:`. A file is opened in EXCLUSIVE locking
 * mode and written at once, so this connection holds it until it closes: a second opener (another
 * server on the same file) fails with HistoryInUseError instead of mixing two servers' jobs in one
 * history. In that mode the WAL index lives in this process's memory, so no other process can read
 * the file meanwhile either. WAL keeps writes cheap; synchronous=NORMAL keeps every committed
 * transaction across a process crash (kill -9), only an OS crash may lose the last ones.
 *
 * Before anything is served the file is checked: `PRAGMA quick_check` (a damaged file is refused
 * rather than served as garbage) and a real write (a file SQLite silently opened read-only, or a
 * full file system, is refused rather than discovered at the first lost job). Both become
 * HistoryUnusableError, whose message names the file and what to do.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Db {
  const memory = path === ":memory:";
  const file = memory ? path : resolve(path);
  const readOnly = options.readOnly === true && !memory;
  if (readOnly && !existsSync(file)) throw new HistoryUnusableError(file, "read_only_missing", "no such file");
  if (!memory && !readOnly) mkdirSync(dirname(file), { recursive: true });
  // Required here, not imported at the top: the native addon loads only when a runtime opens a
  // database, never when a bundle merely contains this module.
  const require = createRequire(import.meta.url);
  const Database = require("better-sqlite3") as typeof BetterSqlite3;
  // Read-only: SQLite's ordinary locking (a shared lock per read, the WAL index in `-shm`), since a
  // read-only connection cannot keep the WAL index in its own memory; it reads the log a crash
  // left behind like any reader.
  const db = new Database(file, { timeout: LOCK_WAIT_MS, readonly: readOnly, fileMustExist: readOnly });
  try {
    // Before the first access: the lock mode and the WAL index in memory apply from the start.
    if (!memory && !readOnly) db.pragma("locking_mode = EXCLUSIVE");
    // Never map the file into memory: a mapped page the file system cannot back (a full or
    // vanished volume) kills the process with SIGBUS instead of failing one write.
    db.pragma("mmap_size = 0");
    if (!readOnly) db.pragma("journal_mode = WAL");
    // The first write takes the exclusive lock, kept from now on.
    if (!memory && !readOnly) db.exec("BEGIN IMMEDIATE; COMMIT");
    if (!memory) check(db, file, readOnly);
  } catch (err) {
    db.close();
    const code = sqliteCode(err);
    if (code.startsWith("SQLITE_BUSY")) throw new HistoryInUseError(file, readOwner(file));
    if (DAMAGED.test(code)) throw new HistoryUnusableError(file, "damaged", problemOf(err));
    if (UNWRITABLE.test(code)) throw new HistoryUnusableError(file, "unwritable", problemOf(err));
    throw err;
  }
  if (!readOnly) db.pragma("synchronous = NORMAL");
  try {
    if (readOnly) {
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version !== SCHEMA_VERSION) throw new HistoryUnusableError(file, "read_only_old_schema", `schema v${version}, this build needs v${SCHEMA_VERSION}`);
    } else migrate(db);
  } catch (err) {
    db.close();
    if (DAMAGED.test(sqliteCode(err))) throw new HistoryUnusableError(file, "damaged", problemOf(err));
    if (UNWRITABLE.test(sqliteCode(err))) throw new HistoryUnusableError(file, "unwritable", problemOf(err));
    throw err;
  }
  return db;
}

/** quick_check, then (writable mode) a write that reaches the file: page 1's header, as it was. */
function check(db: Db, file: string, readOnly: boolean): void {
  const found = (db.pragma("quick_check") as { quick_check: string }[]).map((r) => r.quick_check);
  if (found.length !== 1 || found[0] !== "ok") {
    const shown = found.slice(0, PROBLEMS_SHOWN).join("; ").replace(/\s*\n\s*/g, " ");
    throw new HistoryUnusableError(file, "damaged", `PRAGMA quick_check: ${shown}${found.length > PROBLEMS_SHOWN ? `; and ${found.length - PROBLEMS_SHOWN} more` : ""}`);
  }
  if (readOnly) return;
  // Rewriting user_version with its own value is a real write transaction (page 1 into the WAL):
  // it fails now, not at the first job, when SQLite fell back to read-only (an immutable or
  // unwritable file) or the file system is full.
  const version = db.pragma("user_version", { simple: true }) as number;
  db.pragma(`user_version = ${version}`);
}
