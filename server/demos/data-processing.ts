/**
 * The served `data_processing` demo: ingest → process → validate. The server ships without
 * examples/, so this is its own copy, in the engine's explicit style (declared events, ctx.emit,
 * wiring as a DSL document like the other demos); examples/data-processing.ts is the same flow
 * in the options-object spelling (addSlot with a handler, this.emit).
 */
import { type ActivationContext, Flow, type Payload, Routine, RoutineRegistry } from "../../lib";

export class Ingest extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.run);
    this.defineEvent("data_ingested", ["count", "data"]);
  }
  run(payload: Payload, ctx: ActivationContext): void {
    const data = payload.data;
    // Said in the user's terms: a bare "cannot read 'length' of undefined" explains nothing.
    if (!Array.isArray(data)) throw new TypeError(`ingest expects params like {"data": [1, 2, 3]} (got ${JSON.stringify(Object.keys(payload))} keys)`);
    ctx.emit("data_ingested", { count: data.length, data });
  }
}

export class Process extends Routine {
  constructor() {
    super();
    this.defineSlot("data_ingested", this.run);
    this.defineEvent("data_processed", ["result"]);
  }
  run(payload: Payload, ctx: ActivationContext): void {
    ctx.emit("data_processed", { result: (payload.data as number[]).map((x) => x * 2) });
  }
}

export class Validate extends Routine {
  constructor() {
    super();
    this.defineSlot("data_processed", this.run);
  }
  run(payload: Payload, ctx: ActivationContext): void {
    const result = payload.result as number[];
    ctx.shared.valid = result.every((x) => x > 0);
    ctx.log("validated", { result });
  }
}

// Private: these types build this one flow and stay out of the server's registered types.
const types = new RoutineRegistry();
types.register("ingest", Ingest);
types.register("process", Process);
types.register("validate", Validate);

export function dataProcessingFlow(): Flow {
  return Flow.fromDSL(
    {
      flow_id: "data_processing",
      routines: { ingest: { class: "ingest" }, process: { class: "process" }, validate: { class: "validate" } },
      connections: [
        { from: "ingest.data_ingested", to: "process.data_ingested" },
        { from: "process.data_processed", to: "validate.data_processed" },
      ],
      example: { entry_routine_id: "ingest", entry_slot: "trigger", params: { data: [1, 2, 3, 4, 5] } },
    },
    types,
  );
}
