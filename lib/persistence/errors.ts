/**
 * The history file's failures as the user sees them: one it cannot be used at start (refused with
 * what to do), and writes failing while the server runs (503 for requests that need them).
 */
import { branded, RoutiluxError } from "../wire/errors";

export type UnusableReason = "damaged" | "unwritable" | "read_only_missing" | "read_only_old_schema";

/**
 * The history file cannot be used: it is damaged (`PRAGMA quick_check` or SQLite itself says so)
 * or cannot be written. The server refuses to start; the message names the file and what to do.
 */
export class HistoryUnusableError extends RoutiluxError {
  declare readonly details: { path: string; reason: UnusableReason; problem: string };

  constructor(path: string, reason: UnusableReason, problem: string) {
    super(reason === "damaged" ? "HISTORY_DAMAGED" : "HISTORY_UNWRITABLE", unusableMessage(path, reason, problem), {
      kind: "unavailable",
      details: { path, reason, problem },
    });
  }
}
branded("HistoryUnusableError", HistoryUnusableError);

function unusableMessage(path: string, reason: UnusableReason, problem: string): string {
  switch (reason) {
    case "damaged":
      return (
        `The history file ${path} is damaged (${problem}); Routilux will not serve it. ` +
        `Move it aside (mv '${path}' '${path}.damaged') to start with an empty history, restore it from a backup, ` +
        `or try to salvage it with \`sqlite3 '${path}' .recover\` into a new file.`
      );
    case "unwritable":
      return (
        `The history file ${path} cannot be written (${problem}). ` +
        "Make it writable (permissions, immutable flag, a read-only or full file system), " +
        "set ROUTILUX_DB_READONLY=1 to serve its history read-only (starting jobs and editing flows then answer 503), " +
        "or point ROUTILUX_DB at another file."
      );
    case "read_only_missing":
      return `ROUTILUX_DB_READONLY=1 but the history file ${path} does not exist (${problem}).`;
    case "read_only_old_schema":
      return `The history file ${path} was written by an older Routilux (${problem}); open it once without ROUTILUX_DB_READONLY to upgrade it.`;
  }
}

/**
 * The history cannot be written right now (disk full, file gone read-only, ...) or the server
 * serves it read-only: a request that needs a write (start a job, create or edit a flow) is
 * refused with 503 rather than acknowledged and then lost.
 */
export class HistoryUnavailableError extends RoutiluxError {
  constructor(reason: string, options: { readOnly?: boolean } = {}) {
    const what = options.readOnly ? "Nothing was changed: this server serves its history read-only." : "Nothing was changed; retry once GET /api/health is healthy again.";
    super("HISTORY_UNAVAILABLE", `The history database cannot be written: ${reason}. ${what}`, { kind: "unavailable", details: { reason, read_only: options.readOnly === true } });
  }
}
branded("HistoryUnavailableError", HistoryUnavailableError);
