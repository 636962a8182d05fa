import type { Runtime } from "../../lib";

/** A debug command as the sockets receive it: `{command, id?, ...arguments}`. */
export interface DebugCommand {
  command?: unknown;
  id?: unknown;
  [key: string]: unknown;
}

export type CommandOutcome = { ok: true; data: unknown } | { ok: false; message: string; code: string };

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * Runs one debug command on a job's session. Failures (unknown command, job not paused, bad
 * arguments) come back as `{ok: false}` with the error's message and code, never as a throw.
 */
export function executeDebugCommand(runtime: Runtime, jobId: string, msg: DebugCommand): CommandOutcome {
  try {
    const command = str(msg.command);
    if (!command) return { ok: false, code: "BAD_COMMAND", message: "A command needs a 'command' string" };
    const job = runtime.getJob(jobId);
    const session = runtime.monitoring.debugSessionManager.getSession(jobId);
    const bpm = runtime.monitoring.breakpointManager;
    switch (command) {
      case "continue":
      case "resume":
        return { ok: true, data: session.continue() };
      case "step_over":
        return { ok: true, data: session.stepOver() };
      case "step_into":
        return { ok: true, data: session.stepInto() };
      case "step_out":
        return { ok: true, data: session.stepOut() };
      case "pause":
        return { ok: true, data: session.pause() };
      case "get_session":
        return { ok: true, data: session.toJSON() };
      case "get_variables":
        return { ok: true, data: session.getVariables() };
      case "set_variable": {
        const name = str(msg.variable) ?? str(msg.name);
        if (!name) return { ok: false, code: "BAD_COMMAND", message: "set_variable needs 'variable'" };
        const scope = msg.scope === undefined ? "local" : msg.scope;
        if (scope !== "local" && scope !== "shared") return { ok: false, code: "BAD_COMMAND", message: "scope must be 'local' or 'shared'" };
        return { ok: true, data: session.setVariable(name, msg.value, scope) };
      }
      case "get_call_stack":
        return { ok: true, data: session.getCallStack() };
      case "evaluate": {
        const expression = str(msg.expression);
        if (!expression) return { ok: false, code: "BAD_COMMAND", message: "evaluate needs 'expression'" };
        return { ok: true, data: session.evaluate(expression) };
      }
      case "set_breakpoint": {
        const { command: _c, id: _i, job_id: _j, flow_id: _f, ...fields } = msg;
        return { ok: true, data: bpm.setBreakpoint({ ...fields, job_id: job.jobId }) };
      }
      case "remove_breakpoint": {
        const id = str(msg.breakpoint_id);
        if (!id) return { ok: false, code: "BAD_COMMAND", message: "remove_breakpoint needs 'breakpoint_id'" };
        if (!bpm.removeBreakpoint(id, job.jobId)) return { ok: false, code: "BREAKPOINT_NOT_FOUND", message: `Breakpoint '${id}' not found` };
        return { ok: true, data: { breakpoint_id: id, removed: true } };
      }
      default:
        return { ok: false, code: "UNKNOWN_COMMAND", message: `Unknown command '${command.slice(0, 64)}'` };
    }
  } catch (err) {
    const e = err as { message?: string; code?: string };
    return { ok: false, code: typeof e.code === "string" ? e.code : "COMMAND_FAILED", message: e.message ?? String(err) };
  }
}
