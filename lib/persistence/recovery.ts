/**
 * Start-up repair: jobs that were running or paused when the process died are closed as failed
 * ("interrupted by restart"), with a final `job_failed` event numbered after the last committed one,
 * so a client resubscribing with `after_seq` sees the end of the job and no gap.
 */
import type { JobError } from "../engine";
import type { JobMetrics, JobSnapshot, TraceEvent } from "../monitoring";
import type { Db } from "./database";
import { toJson } from "./json";

export const INTERRUPTED_MESSAGE = "interrupted by restart";
const FINISHED = ["completed", "failed", "cancelled"];

interface OpenJob {
  job_id: string;
  flow_id: string;
  started_at: string | null;
  created_at: string;
  updated_at: string;
  snapshot: string;
  metrics: string;
  last_seq: number;
  retained: number;
  dropped: number;
}

/** Marks every unfinished job failed (one transaction); returns their ids. */
export function recoverInterrupted(db: Db, maxEventsPerJob: number): string[] {
  const open = db.prepare(`SELECT job_id, flow_id, started_at, created_at, updated_at, snapshot, metrics, last_seq, retained, dropped FROM jobs WHERE status NOT IN (${FINISHED.map(() => "?").join(", ")}) ORDER BY ord`).all(...FINISHED) as OpenJob[];
  if (open.length === 0) return [];
  const update = db.prepare("UPDATE jobs SET status = 'failed', finished_at = ?, updated_at = ?, error = ?, snapshot = ?, metrics = ?, last_seq = ?, retained = ?, dropped = ? WHERE job_id = ?");
  const insertEvent = db.prepare("INSERT OR REPLACE INTO events (job_id, seq, event) VALUES (?, ?, ?)");
  const oldest = db.prepare("SELECT MIN(seq) AS seq FROM events WHERE job_id = ?");
  const deleteEvent = db.prepare("DELETE FROM events WHERE job_id = ? AND seq = ?");
  db.transaction(() => {
    for (const job of open) {
      // The job stopped some time after its last committed write: that is the best end we know.
      const end = job.updated_at;
      const start = job.started_at ?? job.created_at;
      const duration = Math.max(0, Date.parse(end) - Date.parse(start));
      const error: JobError = { message: INTERRUPTED_MESSAGE, error_type: "Interrupted", routine_id: null };
      const seq = job.last_seq + 1;
      const event: TraceEvent = {
        event_id: `evt_${seq}`,
        seq,
        job_id: job.job_id,
        flow_id: job.flow_id,
        routine_id: null,
        event_type: "job_failed",
        timestamp: end,
        data: { status: "failed", error, cancel_reason: null, duration_ms: duration },
        duration,
        status: "failed",
      };
      insertEvent.run(job.job_id, seq, toJson(event));
      let retained = job.retained + 1;
      let dropped = job.dropped;
      if (retained > maxEventsPerJob) {
        const first = (oldest.get(job.job_id) as { seq: number | null }).seq;
        if (first !== null) deleteEvent.run(job.job_id, first);
        retained--;
        dropped++;
      }
      const snapshot = JSON.parse(job.snapshot) as JobSnapshot;
      Object.assign(snapshot, { status: "failed", finished_at: end, updated_at: end, duration_ms: duration, error });
      const metrics = JSON.parse(job.metrics) as JobMetrics;
      Object.assign(metrics, { status: "failed", end_time: end, duration_ms: duration, total_events: seq, retained_events: retained, dropped_events: dropped });
      update.run(end, end, toJson(error), toJson(snapshot), toJson(metrics), seq, retained, dropped, job.job_id);
    }
  })();
  return open.map((j) => j.job_id);
}
