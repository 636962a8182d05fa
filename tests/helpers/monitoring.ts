import { type DebugSession, type Job, MonitoringRegistry } from "../../lib";
import { waitFor } from "./flows";

export function registry(): MonitoringRegistry {
  MonitoringRegistry.enable();
  return MonitoringRegistry.getInstance();
}

/** Waits until the job is stopped in the debugger and returns its session. */
export async function pausedSession(job: Job): Promise<DebugSession> {
  const sessions = MonitoringRegistry.getInstance().debugSessionManager;
  await waitFor(() => job.isFinished || sessions.get(job.jobId)?.status === "paused");
  if (job.isFinished) throw new Error(`job ${job.jobId} finished (${job.status}) instead of pausing`);
  return sessions.getSession(job.jobId);
}

/** Waits for the session to stop again after a step, or for the job to finish. Returns where it is. */
export async function nextStop(job: Job): Promise<string | null> {
  const session = MonitoringRegistry.getInstance().debugSessionManager.getSession(job.jobId);
  await waitFor(() => job.isFinished || session.status === "paused");
  return session.pausedAt ? session.pausedAt.routine_id : null;
}
