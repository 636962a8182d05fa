/**
 * A process that holds a history file, for the lock tests: `node --import tsx
 * tests/helpers/hold-history.ts <db>` opens it as a server's runtime does, runs one job of a flow
 * made from the DSL, writes it, prints `held <pid> <job_id>` and waits to be killed.
 */
import { Runtime } from "../../lib";

const path = process.argv[2];
if (!path) throw new Error("usage: hold-history.ts <db>");
const runtime = new Runtime({ persistence: { path } });
runtime.createFlow("pipeline", {
  routines: { a: { class: "passthrough" }, b: { class: "filter", config: { condition: "x > 1" } } },
  connections: [{ from: "a.output", to: "b.input" }],
});
const job = runtime.startJob({ flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 2 } });
await job.done;
runtime.persistence?.flush();
console.log(`held ${process.pid} ${job.jobId}`);
setInterval(() => {}, 60_000);
