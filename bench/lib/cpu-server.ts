/**
 * The server of the `cluster` bench: server/main.ts with the demo flows plus the bench's own
 * (bench/lib/cpu-worker.ts has them, and its workers run them). With ROUTILUX_REDIS_URL it joins
 * that cluster; without, it runs every job itself (the bench's embedded baseline).
 *
 * Usage: [ROUTILUX_REDIS_URL=redis://…] node --import tsx bench/lib/cpu-server.ts
 */
import { main } from "../../server/main";
import { benchFlows } from "./cpu-worker";

await main({ flows: benchFlows(), demos: true });
