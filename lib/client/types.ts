/**
 * What the browser receives from the HTTP API. Request shapes come from lib/wire (zod); these
 * answers are the server's JSON as typed views, imported as types only so that no engine code
 * reaches the browser bundle.
 */
import type { Breakpoint, BreakpointInput, BreakpointPatch } from "../monitoring/schemas";
import type { CallFrame, PausedAt, SessionSnapshot } from "../monitoring/debug-session";
import type { TraceEvent, TraceEventType } from "../monitoring/trace";

export type { Breakpoint, BreakpointInput, BreakpointPatch, CallFrame, PausedAt, SessionSnapshot, TraceEvent, TraceEventType };

export type JobStatus = "pending" | "running" | "paused" | "completed" | "failed" | "cancelled";
export const FINAL_JOB_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled"];

/** A routine's state as the engine reports it, plus the UI's own "running" and "paused". */
export type RoutineStatus = "pending" | "running" | "paused" | "completed" | "failed" | "error_continued" | "skipped";

export interface FlowSummary {
  flow_id: string;
  routine_count: number;
  connection_count: number;
  execution_strategy: string;
  job_count: number;
  last_job_id: string | null;
  last_job_status: JobStatus | null;
}

export interface RoutineInfo {
  routine_id: string;
  type: string;
  slots: string[];
  events: string[];
  config: Record<string, unknown>;
}

export interface ConnectionInfo {
  id: string;
  source_routine: string;
  source_event: string;
  target_routine: string;
  target_slot: string;
  param_mapping: Record<string, string> | null;
}

export interface FlowDetail {
  flow_id: string;
  execution_strategy: string;
  max_workers: number;
  timeout: number | null;
  routines: Record<string, RoutineInfo>;
  connections: ConnectionInfo[];
}

export interface RoutineStateInfo {
  status: string;
  activations: number;
  errors: number;
  last_error: string | null;
}

/** Why a job failed (the engine's `job.error`). */
export interface JobError {
  message: string;
  error_type: string;
  routine_id: string | null;
}

export interface JobSummary {
  job_id: string;
  flow_id: string;
  status: JobStatus;
  created_at: string;
  started_at?: string | null;
  finished_at?: string | null;
  duration_ms?: number | null;
  error?: JobError | null;
}

export interface JobSnapshot extends JobSummary {
  entry_routine_id: string;
  entry_slot: string;
  updated_at: string;
  routine_states: Record<string, RoutineStateInfo>;
  shared_data: Record<string, unknown>;
  shared_log: { timestamp: string; routine_id: string | null; message: string; data?: unknown }[];
  cancel_reason: string | null;
  pending_activations?: number;
}

export interface RoutineMetrics {
  routine_id: string;
  execution_count: number;
  error_count: number;
  duration_ms: number;
  avg_duration_ms: number;
  min_duration_ms: number | null;
  max_duration_ms: number | null;
  last_execution: string | null;
}

export interface JobMetrics {
  job_id: string;
  flow_id: string;
  status: JobStatus;
  start_time: string | null;
  end_time: string | null;
  duration_ms: number | null;
  total_routines: number;
  completed_routines: number;
  failed_routines: number;
  total_events: number;
  dropped_events?: number;
  routine_metrics: Record<string, RoutineMetrics>;
  errors: { routine_id: string | null; error_type?: string; message?: string; timestamp?: string }[];
}

export interface TracePage {
  job_id: string;
  total: number;
  retained: number;
  dropped: number;
  last_seq: number;
  events: TraceEvent[];
}

export interface JobBreakpoints {
  breakpoints: Breakpoint[];
  total: number;
  flow_breakpoints?: Breakpoint[];
}

export interface Variables {
  variables: { local: Record<string, unknown>; shared: Record<string, unknown> };
  routine_id: string | null;
  slot_name: string | null;
  event_name?: string | null;
}

export interface StepAnswer {
  job_id: string;
  status: JobStatus;
  paused_at: PausedAt | null;
  session?: SessionSnapshot;
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}
