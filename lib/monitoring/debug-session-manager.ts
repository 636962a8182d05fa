import type { Job } from "../engine";
import { DebugSession, type PausedAt, type SessionObserver } from "./debug-session";
import { MonitoringError } from "./errors";
import type { JobStore } from "./job-store";
import type { JobMonitorState } from "./monitor-hooks";

/** One debug session per monitored job, created on demand. */
export class DebugSessionManager {
  private readonly sessions = new Map<string, DebugSession>();
  private readonly listeners = new Set<(session: DebugSession) => void>();
  private readonly observer: SessionObserver;

  constructor(
    private readonly jobStore: JobStore,
    onStop: (session: DebugSession, at: PausedAt) => void = () => {},
  ) {
    this.observer = {
      onStop,
      onChange: (session) => {
        for (const l of this.listeners) l(session);
      },
    };
  }

  /** The job's session (created when first asked for). Unknown job → not_found. */
  getSession(jobId: string): DebugSession {
    const existing = this.sessions.get(jobId);
    if (existing) return existing;
    const job = this.jobStore.get(jobId);
    if (!job) throw new MonitoringError("not_found", "JOB_NOT_FOUND", `Job '${jobId}' not found`);
    return this.create(job);
  }

  /** The session if one exists. */
  get(jobId: string): DebugSession | undefined {
    return this.sessions.get(jobId);
  }

  /** @internal For the hooks: the session of a job that is starting or running. */
  forJob(job: Job): DebugSession {
    return this.sessions.get(job.jobId) ?? this.create(job);
  }

  remove(jobId: string): void {
    this.sessions.get(jobId)?.onJobEnd();
    this.sessions.delete(jobId);
  }

  /** Called on every session change (pause, step, variable edit): transports push `session` updates. */
  onSessionChange(listener: (session: DebugSession) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private create(job: Job): DebugSession {
    const session = new DebugSession(job, this.observer);
    this.sessions.set(job.jobId, session);
    const state = job.hookState as JobMonitorState | undefined;
    if (state) state.session = session;
    // From now on the job keeps causal parents and emit lines for this session's call stacks.
    job.debugging = true;
    return session;
  }
}
