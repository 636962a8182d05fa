/**
 * A cluster worker for the `cluster` bench: the demo flows plus the bench's own (a CPU-bound flow
 * and a long chain), which a plain `server/cluster/worker-main.ts` does not have. The server of
 * the same bench serves the same flows (bench/lib/cpu-server.ts): a job names its flow by id, and
 * a worker runs only flows it loaded itself.
 *
 * Usage: ROUTILUX_REDIS_URL=redis://… node --import tsx bench/lib/cpu-worker.ts
 */
import { createHash } from "node:crypto";
import { type ActivationContext, Flow, type Payload, Routine, routineRegistry } from "../../lib";
import { isRoutiluxError } from "../../lib/wire";
import { chainFlow } from "../engine-chain";

export const CPU_FLOW_ID = "bench_cpu";
export const CHAIN_FLOW_ID = "bench_chain";
/** sha256 rounds per activation by default: ~13 ms on the 2-core machine this bench was written on, once warm. */
export const DEFAULT_ROUNDS = 10_000;

/** `rounds` chained sha256 digests of `input`: deterministic, synchronous, CPU only. */
export function burn(input: string, rounds: number): string {
  let digest = createHash("sha256").update(input).digest();
  for (let i = 1; i < rounds; i++) digest = createHash("sha256").update(digest).digest();
  return digest.toString("hex");
}

/** Burns `rounds` (payload, default DEFAULT_ROUNDS) sha256 rounds over `seed`, emits the digest. */
export class Burn extends Routine {
  constructor() {
    super();
    this.defineSlot("input", (p: Payload, ctx: ActivationContext) => {
      const rounds = typeof p.rounds === "number" ? p.rounds : DEFAULT_ROUNDS;
      ctx.emit("output", { digest: burn(String(p.seed ?? ""), rounds) });
    });
    this.defineEvent("output", ["digest"]);
  }
}

/** The bench's flows: `bench_cpu` (one Burn activation per job) and `bench_chain` (src → p1 → p2 → p3, 1 + 3n activations). */
export function benchFlows(): Flow[] {
  if (!routineRegistry.has("bench_burn")) routineRegistry.register("bench_burn", Burn, { description: "Burns `rounds` sha256 rounds over `seed` (bench only)." });
  const cpu = new Flow(CPU_FLOW_ID);
  cpu.addRoutine(new Burn(), "burn");
  return [cpu, chainFlow(CHAIN_FLOW_ID)];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    // Imported here: the bench's own process takes the flow ids from this file, not a worker.
    const { workUntilSignal } = await import("../../server/cluster/worker-main");
    await workUntilSignal({ flows: benchFlows(), demos: true });
  } catch (err) {
    console.error(isRoutiluxError(err) ? err.message : ((err as Error).stack ?? String(err)));
    process.exit(1);
  }
}
