/**
 * `npm run bench`: speed and memory figures, with their targets, measured on the machine it runs on.
 * Run with --expose-gc (the npm script does) so memory figures are after real collections.
 * `npm run bench -- ui` (or engine, monitoring, debugging, server, sockets, persistence, package, hostile, timetravel, diff, cluster) runs only those parts. The
 * UI part judges its figures against regression bounds too: the exit code is 1 when one is crossed.
 * `cluster` (scale-out over a real redis-server) reports its targets as OK / MISSED and never fails the run.
 */
import { clusterBench } from "./cluster";
import { debugTimingBench } from "./debug-timing";
import { diffBench } from "./diff";
import { engineBench } from "./engine";
import { hostileBench } from "./hostile";
import { monitoringBench } from "./monitoring";
import { packageBench } from "./package";
import { persistenceBench } from "./persistence";
import { serverFanoutBench } from "./server-fanout";
import { socketsBench } from "./sockets";
import { timetravelBench } from "./timetravel";
import { uiBench } from "./ui";

const PARTS = { engine: engineBench, monitoring: monitoringBench, debugging: debugTimingBench, server: serverFanoutBench, sockets: socketsBench, persistence: persistenceBench, ui: uiBench, package: packageBench, hostile: hostileBench, timetravel: timetravelBench, diff: diffBench, cluster: clusterBench } as const;
type Part = keyof typeof PARTS;
const isPart = (s: string): s is Part => Object.hasOwn(PARTS, s);

const asked = process.argv.slice(2);
const unknown = asked.filter((a) => !isPart(a));
if (unknown.length > 0) {
  console.error(`unknown bench part: ${unknown.join(", ")} (parts: ${Object.keys(PARTS).join(", ")})`);
  process.exit(2);
}
const parts: Part[] = asked.length > 0 ? asked.filter(isPart) : (Object.keys(PARTS) as Part[]);

console.log(`Routilux bench — node ${process.version}, ${new Date().toISOString()}\n`);
for (const part of parts) {
  const ok = await PARTS[part]();
  if (ok === false) process.exitCode = 1;
}
