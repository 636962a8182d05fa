/** Opens the SQLite file (better-sqlite3): locked for this connection alone, WAL, migrations. Loaded lazily: nothing opens at import. */
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { HistoryInUseError, readOwner } from "./lock";
import { migrate } from "./schema";

export type Db = BetterSqlite3.Database;

/**
 * How long a second opener waits for the lock before it gives up (ms). The holder keeps it until
 * it closes, so waiting longer would only delay the error; the wait covers a holder that is just
 * closing (a restart).
 */
const LOCK_WAIT_MS = 250;

/**
 * `path` is a file (its folder is created) or `:memory:`. A file is opened in EXCLUSIVE locking
 * mode and written at once, so this connection holds it until it closes: a second opener (another
 * server on the same file) fails with HistoryInUseError instead of mixing two servers' jobs in one
 * history. In that mode the WAL index lives in this process's memory, so no other process can read
 * the file meanwhile either. WAL keeps writes cheap; synchronous=NORMAL keeps every committed
 * transaction across a process crash (kill -9), only an OS crash may lose the last ones.
 */
export function openDatabase(path: string): Db {
  const memory = path === ":memory:";
  const file = memory ? path : resolve(path);
  if (!memory) mkdirSync(dirname(file), { recursive: true });
  // Required here, not imported at the top: the native addon loads only when a runtime opens a
  // database, never when a bundle merely contains this module.
  const require = createRequire(import.meta.url);
  const Database = require("better-sqlite3") as typeof BetterSqlite3;
  const db = new Database(file, { timeout: LOCK_WAIT_MS });
  try {
    // Before the first access: the lock mode and the WAL index in memory apply from the start.
    if (!memory) db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = WAL");
    // The first write takes the exclusive lock, kept from now on.
    if (!memory) db.exec("BEGIN IMMEDIATE; COMMIT");
  } catch (err) {
    db.close();
    if (String((err as { code?: unknown }).code).startsWith("SQLITE_BUSY")) throw new HistoryInUseError(file, readOwner(file));
    throw err;
  }
  db.pragma("synchronous = NORMAL");
  migrate(db);
  return db;
}
