/**
 * The debug commands, implemented once. HTTP routes, the raw debug WebSocket and socket.io's
 * `debug` message all call `runCommand`, so a command answers the same everywhere: the same
 * result, the same errors, and commands that move the job (steps, pause) answer once the job got
 * where they sent it (bounded wait).
 */
import type { Job } from "../../lib/engine";
import { checkBreakpointTarget, MonitoringError } from "../../lib/monitoring";
import type { Runtime } from "../../lib/runtime/runtime";
import {
  type CommandArgs,
  type CommandResult,
  COMMAND_ENVELOPE_KEYS,
  commandName,
  DEBUG_COMMANDS,
  type DebugCommandName,
  type DebugState,
  formatZodError,
  type StopArgs,
  RoutiluxError,
} from "../../lib/wire";

interface Ctx {
  runtime: Runtime;
  jobId: string;
}

type Impl<N extends DebugCommandName> = (ctx: Ctx, args: CommandArgs<N>) => CommandResult<N> | Promise<CommandResult<N>>;

/** A moving command's answer waits this long (at most) for the job to stop again. */
const SETTLE_POLLS = 20;
const SETTLE_POLL_MS = 5;

function sessionOf({ runtime, jobId }: Ctx) {
  runtime.getJob(jobId); // unknown → 404, restored from history → 409
  return runtime.monitoring.debugSessionManager.getSession(jobId);
}

function debugState({ runtime, jobId }: Ctx): DebugState {
  const job = runtime.getJob(jobId);
  const s = runtime.monitoring.debugSessionManager.getSession(jobId);
  return { job_id: jobId, status: job.status, paused_at: s.pausedAt, session: s.toJSON() };
}

/** Waits briefly (bounded) for a step or pause to land, so the answer shows where the job stopped. */
export async function settle(job: Job): Promise<void> {
  for (let i = 0; i < SETTLE_POLLS && job.status === "running"; i++) await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
}

/** A command that releases or holds the job: runs `act`, waits for the job to settle, answers where it is. */
function moving(act: (ctx: Ctx, args: StopArgs) => void, wait = true): (ctx: Ctx, args: StopArgs) => Promise<DebugState> {
  return async (ctx, args) => {
    act(ctx, args);
    if (wait) await settle(ctx.runtime.getJob(ctx.jobId));
    return debugState(ctx);
  };
}

/** The job's own breakpoint `id` (a flow's, or another job's, is not found here). */
function ownBreakpoint({ runtime, jobId }: Ctx, id: string) {
  const bp = runtime.monitoring.breakpointManager.getBreakpoint(id);
  if (!bp || bp.job_id !== jobId) throw new MonitoringError("not_found", "BREAKPOINT_NOT_FOUND", `Breakpoint '${id}' not found`);
  return bp;
}

const IMPLEMENTATIONS: { [N in DebugCommandName]: Impl<N> } = {
  // `stop_number`: the session refuses a command meant for another stop (STALE_STOP).
  continue: moving((ctx, a) => sessionOf(ctx).continue(a.stop_number), false),
  step_over: moving((ctx, a) => sessionOf(ctx).stepOver(a.stop_number)),
  step_into: moving((ctx, a) => sessionOf(ctx).stepInto(a.stop_number)),
  step_out: moving((ctx, a) => sessionOf(ctx).stepOut(a.stop_number)),
  pause: moving((ctx) => {
    const job = ctx.runtime.getJob(ctx.jobId);
    if (job.isFinished) throw new MonitoringError("conflict", "JOB_FINISHED", `Job '${job.jobId}' has already finished (${job.status})`);
    sessionOf(ctx).pause();
  }),
  run_to: async (ctx, { routine_id, slot_name, stop_number }) => {
    const { runtime, jobId } = ctx;
    const job = runtime.getJob(jobId);
    // Before anything changes: a stale run_to must not leave its one-shot breakpoint behind.
    runtime.monitoring.debugSessionManager.getSession(jobId).expectStop(stop_number, "run_to");
    if (job.isFinished) throw new MonitoringError("conflict", "JOB_FINISHED", `Job '${job.jobId}' has already finished (${job.status})`);
    checkBreakpointTarget(job.flow, { routine_id, slot_name });
    runtime.monitoring.breakpointManager.setBreakpoint({ job_id: jobId, routine_id, slot_name: slot_name ?? null, once: true });
    const session = runtime.monitoring.debugSessionManager.getSession(jobId);
    if (session.status === "paused") {
      session.continue(stop_number);
      await settle(job);
    }
    return debugState(ctx);
  },
  get_session: ({ runtime, jobId }) => runtime.jobSession(jobId),
  get_variables: (ctx, a) => sessionOf(ctx).getVariables(a.frame ?? 0),
  set_variable: (ctx, a) => sessionOf(ctx).setVariable(a.variable, a.value, a.scope ?? "local"),
  get_call_stack: (ctx) => sessionOf(ctx).getCallStack(),
  evaluate: (ctx, a) => sessionOf(ctx).evaluate(a.expression),
  get_breakpoints: ({ runtime, jobId }) => {
    const bpm = runtime.monitoring.breakpointManager;
    const job = runtime.monitoring.jobStore.get(jobId);
    if (!job) {
      // Restored from history: its own breakpoints were not saved; the flow's set before it started applied.
      const summary = runtime.jobSummary(jobId);
      const flowBreakpoints = bpm.getFlowBreakpoints(summary.flow_id).filter((b) => b.created_at < summary.created_at);
      return { breakpoints: [], total: 0, flow_breakpoints: flowBreakpoints };
    }
    const breakpoints = bpm.getBreakpoints(jobId);
    const flowBreakpoints = bpm.getEffectiveBreakpoints({ job_id: jobId, flow_id: job.flowId, start_order: job.startOrder }).filter((b) => b.job_id === null);
    return { breakpoints, total: breakpoints.length, flow_breakpoints: flowBreakpoints };
  },
  set_breakpoint: ({ runtime, jobId }, a) => {
    const job = runtime.getJob(jobId);
    checkBreakpointTarget(job.flow, a);
    return runtime.monitoring.breakpointManager.setBreakpoint({ ...a, job_id: job.jobId });
  },
  update_breakpoint: (ctx, { breakpoint_id, ...patch }) => {
    ctx.runtime.getJob(ctx.jobId);
    ownBreakpoint(ctx, breakpoint_id);
    return ctx.runtime.monitoring.breakpointManager.updateBreakpoint(breakpoint_id, patch);
  },
  remove_breakpoint: (ctx, { breakpoint_id }) => {
    ctx.runtime.getJob(ctx.jobId);
    ownBreakpoint(ctx, breakpoint_id);
    ctx.runtime.monitoring.breakpointManager.removeBreakpoint(breakpoint_id);
    return { breakpoint_id, removed: true as const };
  },
};

/**
 * Runs a debug command by name (or alias) on a job. `args` is checked against the command's
 * schema; every failure is a RoutiluxError with a code (unknown command, bad arguments, job not
 * paused, not found...).
 */
export async function runCommand(runtime: Runtime, jobId: string, name: string, args: unknown): Promise<unknown> {
  const command = commandName(name);
  if (command === null) throw new RoutiluxError("UNKNOWN_COMMAND", `Unknown command '${name.slice(0, 64)}'`, { kind: "bad_request" });
  const parsed = DEBUG_COMMANDS[command].args.safeParse(args ?? {});
  if (!parsed.success) throw new RoutiluxError("BAD_COMMAND", `Invalid arguments for '${command}': ${formatZodError(parsed.error)}`, { kind: "bad_request" });
  // A job on a cluster's worker: the command runs there (checked here first: a bad one costs no round trip).
  if (runtime.remote?.holds(jobId)) {
    const relayed = await runtime.remote.command(jobId, command, parsed.data as Record<string, unknown>);
    if (relayed !== null) return relayed.result;
  }
  const impl = IMPLEMENTATIONS[command] as Impl<DebugCommandName>;
  return await impl({ runtime, jobId }, parsed.data as never);
}

/** A socket message's arguments: everything but its envelope (command, id, job_id, flow_id). */
export function argsOf(message: Record<string, unknown>): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    // defineProperty: a `__proto__` key stays an own key (and the strict schema refuses it).
    if (!(COMMAND_ENVELOPE_KEYS as readonly string[]).includes(key)) Object.defineProperty(args, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return args;
}

/** A command's failure as the sockets report it. */
export function commandFailure(err: unknown): { code: string; message: string } {
  if (err instanceof RoutiluxError) return { code: err.code, message: err.message };
  console.error("[debug] command failed", err);
  return { code: "COMMAND_FAILED", message: "The command failed on the server" };
}
