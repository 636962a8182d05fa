/**
 * `npm run bench`: speed and memory figures, with their targets, measured on the machine it runs on.
 * Run with --expose-gc (the npm script does) so memory figures are after real collections.
 */
import { debugTimingBench } from "./debug-timing";
import { engineBench } from "./engine";
import { monitoringBench } from "./monitoring";
import { persistenceBench } from "./persistence";
import { serverFanoutBench } from "./server-fanout";

console.log(`Routilux bench — node ${process.version}, ${new Date().toISOString()}\n`);
await engineBench();
await monitoringBench();
await debugTimingBench();
await serverFanoutBench();
await persistenceBench();
