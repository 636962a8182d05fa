import type { Job } from "../engine";
import { DebugSession, type PausedAt, type SessionObserver } from "./debug-session";
import { MonitoringError } from "./errors";
import type { JobStore } from "./job-store";
import type { JobMonitorState } from "./monitor-hooks";

/** How many jobs may be paused at once, and how long one may sit paused with nobody using it. */
export interface PausedJobLimits {
  /** Jobs paused at the same time at most; a further stop is not made (the job runs on, told why). */
  maxPaused: number;
  /** A job paused this long without a debug command is cancelled; null: never (a debugger's default). */
  idleExpiryMs: number | null;
}

export const DEFAULT_MAX_PAUSED_JOBS = 100;

/** What the paused-job limits have done so far (reported by the server's health). */
export interface PausedJobStats {
  paused: number;
  max_paused: number;
  idle_expiry_ms: number | null;
  /** Stops not made because the cap was reached (breakpoints, steps, pause on start). */
  refused_stops: number;
  /** Jobs cancelled by the idle expiry. */
  expired_jobs: number;
}

/** One debug session per monitored job, created on demand. */
export class DebugSessionManager {
  private readonly sessions = new Map<string, DebugSession>();
  private readonly listeners = new Set<(session: DebugSession) => void>();
  private readonly observer: SessionObserver;
  private limits: PausedJobLimits = { maxPaused: DEFAULT_MAX_PAUSED_JOBS, idleExpiryMs: null };
  /** Jobs paused now, with the timer that expires them when idle (null: no expiry). */
  private readonly paused = new Map<string, NodeJS.Timeout | null>();
  private refusedStops = 0;
  private expiredJobs = 0;

  constructor(
    private readonly jobStore: JobStore,
    onStop: (session: DebugSession, at: PausedAt) => void = () => {},
  ) {
    this.observer = {
      onStop,
      onChange: (session) => {
        this.track(session);
        for (const l of this.listeners) l(session);
      },
      onActivity: (session) => {
        if (this.paused.has(session.jobId)) this.arm(session);
      },
      stopRefusal: () => this.stopRefusal(),
    };
  }

  /** Changes the limits; an expiry applies to jobs paused from now on. */
  setLimits(limits: Partial<PausedJobLimits>): void {
    const next = { ...this.limits, ...limits };
    if (!Number.isInteger(next.maxPaused) || next.maxPaused < 1) throw new MonitoringError("bad_request", "INVALID_LIMIT", `maxPaused must be a whole number ≥ 1, got ${next.maxPaused}`);
    if (next.idleExpiryMs !== null && !(Number.isInteger(next.idleExpiryMs) && next.idleExpiryMs >= 1 && next.idleExpiryMs <= 2_147_483_647)) {
      throw new MonitoringError("bad_request", "INVALID_LIMIT", `idleExpiryMs must be a whole number of milliseconds from 1 to 2147483647, or null, got ${next.idleExpiryMs}`);
    }
    this.limits = next;
  }

  /** Why a job that is not paused may not stop now (the cap is reached), or null. */
  stopRefusal(): string | null {
    if (this.paused.size < this.limits.maxPaused) return null;
    return `${this.paused.size} jobs are paused, the most allowed at once (ROUTILUX_MAX_PAUSED_JOBS=${this.limits.maxPaused}): continue or cancel one first`;
  }

  /** @internal For the hooks: a stop was not made because of the cap. */
  noteRefusedStop(): void {
    this.refusedStops++;
  }

  stats(): PausedJobStats {
    return { paused: this.paused.size, max_paused: this.limits.maxPaused, idle_expiry_ms: this.limits.idleExpiryMs, refused_stops: this.refusedStops, expired_jobs: this.expiredJobs };
  }

  /** Keeps the set of paused jobs (and their idle timers) in step with each session. */
  private track(session: DebugSession): void {
    const isPaused = session.status === "paused";
    if (isPaused && !this.paused.has(session.jobId)) this.arm(session);
    else if (!isPaused && this.paused.has(session.jobId)) this.disarm(session.jobId);
  }

  private arm(session: DebugSession): void {
    const old = this.paused.get(session.jobId);
    if (old) clearTimeout(old);
    const ms = this.limits.idleExpiryMs;
    let timer: NodeJS.Timeout | null = null;
    if (ms !== null) {
      timer = setTimeout(() => {
        this.paused.delete(session.jobId);
        const job = this.jobStore.get(session.jobId);
        if (!job || job.isFinished) return;
        this.expiredJobs++;
        job.cancel(`Paused for ${ms} ms with no debug command (idle expiry, ROUTILUX_PAUSED_IDLE_EXPIRY_MS)`);
      }, ms);
      timer.unref();
    }
    this.paused.set(session.jobId, timer);
  }

  private disarm(jobId: string): void {
    const timer = this.paused.get(jobId);
    if (timer) clearTimeout(timer);
    this.paused.delete(jobId);
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
    this.disarm(jobId);
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
