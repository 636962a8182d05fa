/**
 * `npm run bench`: the figures the issues ask for, measured on this machine.
 * Run with --expose-gc (the npm script does) so memory figures are after real collections.
 */
import { engineBench } from "./engine";
import { monitoringBench } from "./monitoring";
import { persistenceBench } from "./persistence";
import { serverFanoutBench } from "./server-fanout";

console.log(`Routilux bench — node ${process.version}, ${new Date().toISOString()}\n`);
await engineBench();
await monitoringBench();
await serverFanoutBench();
await persistenceBench();
