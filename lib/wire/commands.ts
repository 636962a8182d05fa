/**
 * The debug commands: one table for every transport. HTTP routes, the raw debug WebSocket and
 * socket.io's `debug` message all run these, with the same arguments, results and errors.
 */
import { z } from "zod";
import {
  BreakpointBodySchema,
  BreakpointPatchSchema,
  BreakpointSchema,
  CallStackSchema,
  DebugStateSchema,
  EvaluateResultSchema,
  JobBreakpointsSchema,
  SessionSnapshotSchema,
  SetVariableResultSchema,
  VariablesSchema,
} from "./model";
import { BreakpointRefSchema, EvaluateArgsSchema, RunToArgsSchema, SetVariableArgsSchema, VariablesArgsSchema } from "./requests";

const NoArgs = z.strictObject({});

/**
 * A moving command may name the stop it was meant for (`paused_at.stop_number`). When the job is
 * no longer paused at that stop it fails with 409 STALE_STOP and changes nothing, so a doubled
 * or late command (a double click, a retry, a message relayed twice) never releases a second
 * stop. Without it the command applies to wherever the job is paused.
 */
export const StopArgsSchema = z.strictObject({
  stop_number: z.number().int().min(1).optional().describe("Only if the job is still paused at this stop (paused_at.stop_number); else 409 STALE_STOP and nothing changes"),
});
export type StopArgs = z.output<typeof StopArgsSchema>;

interface CommandSpec {
  summary: string;
  args: z.ZodType;
  result: z.ZodType;
  /** Commands that release or hold the job answer once the job got where the command sends it. */
  moves?: boolean;
}

export const DEBUG_COMMANDS = {
  continue: { summary: "Continue until a breakpoint or the end", args: StopArgsSchema, result: DebugStateSchema, moves: true },
  step_over: { summary: "Step over: run the paused activation and stop at the next one at its depth or above", args: StopArgsSchema, result: DebugStateSchema, moves: true },
  step_into: { summary: "Step into: stop at the very next activation", args: StopArgsSchema, result: DebugStateSchema, moves: true },
  step_out: { summary: "Step out: stop at the next activation above the paused one", args: StopArgsSchema, result: DebugStateSchema, moves: true },
  pause: { summary: "Pause at the next activation", args: NoArgs, result: DebugStateSchema, moves: true },
  run_to: {
    summary: "Run to here: continue until the routine (or slot) is about to run, through a one-shot breakpoint (other breakpoints still stop)",
    args: RunToArgsSchema.extend(StopArgsSchema.shape),
    result: DebugStateSchema,
    moves: true,
  },
  get_session: { summary: "The debug session", args: NoArgs, result: SessionSnapshotSchema },
  get_variables: {
    summary: "Variables of the paused activation (or of call-stack frame `frame`, read-only): local (its payload) and shared",
    args: VariablesArgsSchema,
    result: VariablesSchema,
  },
  set_variable: { summary: "Change a variable (dotted paths allowed)", args: SetVariableArgsSchema, result: SetVariableResultSchema },
  get_call_stack: { summary: "The causal call stack", args: NoArgs, result: CallStackSchema },
  evaluate: { summary: "Evaluate an expression against the paused scope", args: EvaluateArgsSchema, result: EvaluateResultSchema },
  get_breakpoints: { summary: "The job's breakpoints and the flow's that apply to it", args: NoArgs, result: JobBreakpointsSchema },
  set_breakpoint: { summary: "Set a job breakpoint (type inferred when omitted)", args: BreakpointBodySchema, result: BreakpointSchema },
  update_breakpoint: { summary: "Change a job breakpoint", args: BreakpointPatchSchema.extend(BreakpointRefSchema.shape), result: BreakpointSchema },
  remove_breakpoint: {
    summary: "Delete a job breakpoint",
    args: BreakpointRefSchema,
    result: z.strictObject({ breakpoint_id: z.string(), removed: z.literal(true) }),
  },
} as const satisfies Record<string, CommandSpec>;

export type DebugCommandName = keyof typeof DEBUG_COMMANDS;
export type CommandArgs<N extends DebugCommandName> = z.output<(typeof DEBUG_COMMANDS)[N]["args"]>;
export type CommandResult<N extends DebugCommandName> = z.output<(typeof DEBUG_COMMANDS)[N]["result"]>;

/** Other spellings a command is accepted under. */
export const COMMAND_ALIASES: Readonly<Record<string, DebugCommandName>> = { resume: "continue" };

/** Fields of a socket message that address it rather than being arguments: the socket decides them. */
export const COMMAND_ENVELOPE_KEYS = ["command", "id", "job_id", "flow_id"] as const;

export function commandName(name: string): DebugCommandName | null {
  if (Object.hasOwn(DEBUG_COMMANDS, name)) return name as DebugCommandName;
  return COMMAND_ALIASES[name] ?? null;
}
