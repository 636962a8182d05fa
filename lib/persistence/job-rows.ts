/**
 * What history stores for one job, built in one place: the `jobs` row (from a monitoring record
 * as the recorder writes it, or from a JobBundle as `importJob` writes it), a finished job's
 * events and payloads, and the conversions between stored payloads and a bundle's rows. The
 * recorder and the bundle code share these, so an imported job is stored exactly as one this
 * process ran would have been.
 */
import type { JobMetrics, JobRecord, JobSnapshot, MonitorCollector, PayloadMeta, StoredPayload } from "../monitoring";
import type { BundledPayload, JobBundle } from "../wire/job-bundle";
import { JOB_BUNDLE_VERSION } from "../wire/job-bundle";
import type { PayloadStats } from "../wire/model";
import { archivedJobOf } from "./archive";
import { toJson } from "./json";
import { snapshotFromColumns } from "./reader";
import type { JobRow, WriteBatch } from "./writer";

/** Everything a `jobs` row is made of besides its order number and write time. */
export interface JobRowParts {
  /** As served (GET /api/jobs/{id}): its entry params, shared data and lineage fill their own columns. */
  snapshot: JobSnapshot;
  metrics: JobMetrics | null;
  lastSeq: number;
  retained: number;
  dropped: number;
  /** Null until the job has ended (its payloads are written with its end). */
  payloadStats: PayloadStats | null;
  flowKey: string | null;
}

export function jobRow(ord: number, updatedAt: string, p: JobRowParts): JobRow {
  const snap = p.snapshot;
  return {
    job_id: snap.job_id,
    ord,
    flow_id: snap.flow_id,
    status: snap.status,
    entry_routine_id: snap.entry_routine_id,
    entry_slot: snap.entry_slot,
    params: toJson(snap.entry_params),
    created_at: snap.created_at,
    started_at: snap.started_at,
    finished_at: snap.finished_at,
    updated_at: updatedAt,
    error: snap.error === null ? null : toJson(snap.error),
    shared_data: toJson(snap.shared_data),
    // Shared data and the params have their own columns; the placeholders keep the fields' places in the JSON.
    snapshot: toJson({ ...snap, shared_data: null, entry_params: null }),
    metrics: toJson(p.metrics),
    last_seq: p.lastSeq,
    retained: p.retained,
    dropped: p.dropped,
    payload_stats: p.payloadStats === null ? null : toJson(p.payloadStats),
    flow_key: p.flowKey,
    forked_from: snap.forked_from === null ? null : toJson(snap.forked_from),
  };
}

/**
 * A monitored job's row parts as served now: the snapshot with the seq it is as of (so a restored
 * job's snapshot says it too), its metrics and trace counters; `ended`: its payload stats too.
 */
export function recordRowParts(collector: MonitorCollector, rec: JobRecord, ended: boolean): JobRowParts {
  return {
    snapshot: collector.jobSnapshot(rec.job),
    metrics: collector.getMetrics(rec.jobId),
    lastSeq: rec.seq,
    retained: rec.ring.count,
    dropped: rec.dropped,
    payloadStats: ended ? rec.payloadStats() : null,
    flowKey: rec.flow?.key ?? null,
  };
}

/**
 * A finished job's final write: its retained window replaces whatever was written while it ran,
 * its kept payloads likewise (null: leave the stored ones), then its row.
 */
export function writeFinishedJob(batch: WriteBatch, row: JobRow, events: Iterable<{ seq: number; json: string }>, payloads: Iterable<StoredPayload> | null): void {
  batch.deleteEvents(row.job_id);
  for (const e of events) batch.insertEvent(row.job_id, e.seq, e.json);
  if (payloads !== null) {
    batch.deletePayloads(row.job_id);
    for (const p of payloads) batch.insertPayload(row.job_id, p);
  }
  batch.upsertJob(row);
}

// ------------------------------------------------------------------ bundles

export function bundledPayloadOf(p: StoredPayload): BundledPayload {
  return {
    seq: p.seq,
    kind: p.kind,
    routine_id: p.routineId,
    activation_id: p.activationId,
    slot_name: p.slotName,
    event_name: p.eventName,
    time: p.time,
    meta: p.meta(),
    json: p.json,
    truncated: p.truncated,
  };
}

/** A bundle's payload row as the writer takes it. */
export function storedPayloadOf(b: BundledPayload): StoredPayload {
  return {
    seq: b.seq,
    kind: b.kind,
    routineId: b.routine_id,
    activationId: b.activation_id,
    slotName: b.slot_name,
    eventName: b.event_name,
    time: b.time,
    json: b.json,
    truncated: b.truncated,
    value: () => JSON.parse(b.json) as unknown,
    meta: () => b.meta as PayloadMeta,
  };
}

/**
 * A finished job the collector holds, as a bundle: built through the rows the recorder would
 * write at its end (jobRow, the sealed ring, its kept payloads) and read back the way history's
 * reader reads them, so the bundle holds exactly what history would store and serve — values JSON
 * cannot represent (cycles, BigInt) already replaced by the previews history stores instead.
 * The caller checks that the job has ended and that its payloads are still in memory.
 */
export function bundleOfRecord(collector: MonitorCollector, rec: JobRecord): JobBundle {
  const parts = recordRowParts(collector, rec, true);
  const row = jobRow(0, new Date().toISOString(), parts);
  const events = collector.eventsAfter(rec.jobId, 0).events.map((e) => JSON.parse(toJson(e)) as JobBundle["trace"]["events"][number]);
  return {
    bundle_version: JOB_BUNDLE_VERSION,
    made_from: "record",
    summary: archivedJobOf(row).summary,
    snapshot: snapshotFromColumns(row.snapshot, row.shared_data, row.params) as unknown as JobSnapshot,
    metrics: JSON.parse(row.metrics) as JobMetrics,
    trace: { last_seq: row.last_seq, retained: row.retained, dropped: row.dropped, events },
    payloads: { stats: JSON.parse(row.payload_stats ?? "null") as PayloadStats, rows: [...rec.payloads.all()].map(bundledPayloadOf) },
    flow: rec.flow === null ? null : { key: rec.flow.key, json: rec.flow.json },
  };
}

/** The `jobs` row of a bundled job. */
export function rowOfBundle(b: JobBundle, ord: number, updatedAt: string): JobRow {
  return jobRow(ord, updatedAt, {
    snapshot: b.snapshot,
    metrics: b.metrics,
    lastSeq: b.trace.last_seq,
    retained: b.trace.retained,
    dropped: b.trace.dropped,
    payloadStats: b.payloads.stats,
    flowKey: b.flow?.key ?? null,
  });
}
