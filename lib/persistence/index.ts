// Durable run history (SQLite via better-sqlite3). Only the runtime opens it.
export { type ArchivedJob, HistoryArchive, type JobSummary } from "./archive";
export { openDatabase, type Db } from "./database";
export { bundledPayloadOf, bundleOfRecord, type JobRowParts, jobRow, recordRowParts, rowOfBundle, storedPayloadOf, writeFinishedJob } from "./job-rows";
export { DEFAULT_DB_PATH, DEFAULT_RETENTION_JOBS, Persistence, type PersistenceOptions } from "./persistence";
export { HistoryReader, type StoredFlow, type StoredJobSummary } from "./reader";
export { HistoryUnavailableError, HistoryUnusableError, type UnusableReason } from "./errors";
export { HistoryInUseError, type HistoryOwner, ownerPath, readOwner } from "./lock";
export { INTERRUPTED_MESSAGE, recoverInterrupted } from "./recovery";
export { SCHEMA_VERSION, migrate } from "./schema";
export { DEFAULT_FLUSH_INTERVAL_MS, HistoryWriter, type JobRow, MAX_RETRY_INTERVAL_MS, type WriteFailure, WriteBatch } from "./writer";
