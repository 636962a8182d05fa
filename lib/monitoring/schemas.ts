/**
 * Breakpoint shapes come from the wire contract; what is left here is monitoring's own: the
 * TypeScript spelling of breakpoint fields, and the check that a breakpoint names real parts of
 * its flow.
 */
import type { Flow } from "../engine";
import { MonitoringError } from "./errors";

export {
  BREAKPOINT_TYPES,
  type Breakpoint,
  type BreakpointBody,
  BreakpointBodySchema,
  type BreakpointInput,
  BreakpointInputSchema,
  type BreakpointPatch,
  BreakpointPatchSchema,
  BreakpointSchema,
  type BreakpointType,
  BreakpointTypeSchema,
} from "../wire/model";
export { formatZodError } from "../wire/errors";
export { ID_PATTERN, IdSchema, NameSchema } from "../wire/ids";

const CAMEL_TO_SNAKE: Record<string, string> = {
  jobId: "job_id",
  flowId: "flow_id",
  routineId: "routine_id",
  slotName: "slot_name",
  eventName: "event_name",
  hitCondition: "hit_condition",
  logMessage: "log_message",
};

/** Accepts the TypeScript spelling (`routineId`) as well as the wire's (`routine_id`). */
export function snakeCaseKeys(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) out[CAMEL_TO_SNAKE[key] ?? key] = value;
  return out;
}

/** What a breakpoint may name in its flow. */
export interface BreakpointTarget {
  routine_id?: string | null;
  slot_name?: string | null;
  event_name?: string | null;
  connection?: string | null;
}

/** Throws not_found when the breakpoint names a routine, slot, event or connection the flow does not have. */
export function checkBreakpointTarget(flow: Flow, bp: BreakpointTarget): void {
  const rid = bp.routine_id;
  if (rid) {
    const routine = flow.getRoutine(rid);
    if (!routine) throw new MonitoringError("not_found", "ROUTINE_NOT_FOUND", `Routine '${rid}' not found in flow '${flow.flowId}'`);
    if (bp.slot_name && !routine.getSlot(bp.slot_name)) throw new MonitoringError("not_found", "SLOT_NOT_FOUND", `Slot '${bp.slot_name}' not found on routine '${rid}'`);
    if (bp.event_name && !routine.hasEvent(bp.event_name)) throw new MonitoringError("not_found", "EVENT_NOT_FOUND", `Event '${bp.event_name}' not found on routine '${rid}'`);
  }
  if (bp.connection && !flow.getConnection(bp.connection)) {
    throw new MonitoringError("not_found", "CONNECTION_NOT_FOUND", `Connection '${bp.connection}' not found in flow '${flow.flowId}'`);
  }
}
