/** The database layout and its migrations (PRAGMA user_version counts the ones applied). */
import type { Db } from "./database";

/** Each entry moves the schema one version up; never edit a shipped entry, append a new one. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE flows (
    flow_id    TEXT PRIMARY KEY,
    ord        INTEGER NOT NULL,
    dsl        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE breakpoints (
    breakpoint_id TEXT PRIMARY KEY,
    flow_id       TEXT NOT NULL,
    ord           INTEGER NOT NULL,
    data          TEXT NOT NULL
  );
  CREATE TABLE jobs (
    job_id           TEXT PRIMARY KEY,
    ord              INTEGER NOT NULL UNIQUE,
    flow_id          TEXT NOT NULL,
    status           TEXT NOT NULL,
    entry_routine_id TEXT NOT NULL,
    entry_slot       TEXT NOT NULL,
    params           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    updated_at       TEXT NOT NULL,
    error            TEXT,
    shared_data      TEXT NOT NULL,
    snapshot         TEXT NOT NULL,
    metrics          TEXT NOT NULL,
    last_seq         INTEGER NOT NULL,
    retained         INTEGER NOT NULL,
    dropped          INTEGER NOT NULL
  );
  CREATE INDEX jobs_status ON jobs (status);
  CREATE TABLE events (
    job_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    event  TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
  ) WITHOUT ROWID;
  `,
  // v2: full payloads of finished jobs (within each job's budget) and what the job kept of them.
  // A rowid table: payload texts can be large, and WITHOUT ROWID suits small rows only.
  `
  CREATE TABLE payloads (
    job_id        TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    routine_id    TEXT,
    activation_id INTEGER,
    slot_name     TEXT,
    event_name    TEXT,
    time          REAL NOT NULL,
    meta          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    truncated     INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq)
  );
  ALTER TABLE jobs ADD COLUMN payload_stats TEXT;
  `,
  // v3: the flow each job ran (its FlowDetail as served when it started), so a job whose flow was
  // edited, deleted or is not served by this server can still be drawn. Jobs of one structure
  // share its row (key: a digest of the detail); rows no job refers to are deleted.
  `
  CREATE TABLE flow_structures (
    key     TEXT PRIMARY KEY,
    flow_id TEXT NOT NULL,
    detail  TEXT NOT NULL
  );
  ALTER TABLE jobs ADD COLUMN flow_key TEXT;
  CREATE INDEX jobs_flow_key ON jobs (flow_key);
  `,
  // v4: a forked job's lineage (JSON {job_id, seq}); null for every other job, and for rows
  // written before forks existed.
  `
  ALTER TABLE jobs ADD COLUMN forked_from TEXT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the migrations the database has not seen yet, each in its own transaction. */
export function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > SCHEMA_VERSION) throw new Error(`Database schema v${current} is newer than this build (v${SCHEMA_VERSION})`);
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
