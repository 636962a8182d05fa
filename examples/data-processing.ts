/**
 * The "Complete Monitoring Setup" flow of the monitoring guide (ingest → process → validate), run from the CLI:
 *   npm run example
 */
import { type ActivationContext, Flow, type Payload, Routine } from "../lib";

class Ingest extends Routine {
  constructor() {
    super();
    this.addSlot("trigger", { handler: this.process });
  }
  process({ data }: Payload): void {
    const list = data as number[];
    // `process` needs the data, not only its count, so it travels along.
    this.emit("data_ingested", { count: list.length, data: list });
  }
}

class Process extends Routine {
  constructor() {
    super();
    this.addSlot("data_ingested", { handler: this.process });
  }
  process({ data }: Payload): void {
    this.emit("data_processed", { result: (data as number[]).map((x) => x * 2) });
  }
}

class Validate extends Routine {
  constructor() {
    super();
    this.addSlot("data_processed", { handler: this.validate });
  }
  validate({ result }: Payload, ctx: ActivationContext): void {
    ctx.shared.valid = (result as number[]).every((x) => x > 0);
    ctx.log("validated", { result });
  }
}

export function dataProcessingFlow(): Flow {
  const flow = new Flow("data_processing");
  flow.addRoutine(new Ingest(), "ingest");
  flow.addRoutine(new Process(), "process");
  flow.addRoutine(new Validate(), "validate");
  flow.connect("ingest", "data_ingested", "process", "data_ingested");
  flow.connect("process", "data_processed", "validate", "data_processed");
  return flow;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const job = await dataProcessingFlow().execute("ingest", { data: [1, 2, 3, 4, 5] });
  console.log(JSON.stringify({ status: job.status, shared_data: job.shared, routine_states: job.routineStates, log: job.sharedLog }, null, 2));
}
