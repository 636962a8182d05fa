/** Opens the SQLite file (better-sqlite3): WAL, migrations. Loaded lazily: nothing opens at import. */
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { migrate } from "./schema";

export type Db = BetterSqlite3.Database;

/**
 * `path` is a file (its folder is created) or `:memory:`. WAL lets readers run beside the one
 * writer; synchronous=NORMAL keeps every committed transaction across a process crash (kill -9),
 * only an OS crash may lose the last ones.
 */
export function openDatabase(path: string): Db {
  if (path !== ":memory:") mkdirSync(dirname(resolve(path)), { recursive: true });
  // Required here, not imported at the top: the native addon loads only when a runtime opens a
  // database, never when a bundle merely contains this module.
  const require = createRequire(import.meta.url);
  const Database = require("better-sqlite3") as typeof BetterSqlite3;
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}
