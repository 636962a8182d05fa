/**
 * A child process of the `sockets` bench: opens N raw WebSocket readers on one path and reports
 * on stdout (one JSON line each) when they are all connected and, once every reader saw the job
 * end (or its socket closed), what they received. Kept out of the bench's own process so the
 * /api/health poller's latencies are the server's, not those of a process parsing 2M messages.
 *
 * Usage: node --import tsx bench/lib/socket-readers.ts PORT PATH COUNT
 */
import { Histogram, Reader } from "../server-fanout";

const [portArg, path = "/", countArg] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const say = (msg: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const readers: Reader[] = [];
const latencies = new Histogram();
// Connected in groups, so the handshakes do not queue up behind each other.
for (let i = 0; i < count; i += 50) {
  const group: Reader[] = [];
  for (let k = i; k < Math.min(count, i + 50); k++) group.push(new Reader(port, path, latencies, "job_resumed"));
  await Promise.all(group.map((r) => r.client.opened));
  readers.push(...group);
}
while (!readers.every((r) => r.connected)) await sleep(20);
say({ ready: true });
while (!readers.every((r) => r.finalSeq > 0 || r.client.socket.destroyed)) await sleep(20);
say({
  done: true,
  events: readers.map((r) => r.events),
  finalSeqs: readers.map((r) => r.finalSeq),
  gaps: readers.reduce((s, r) => s + r.gaps, 0),
  drops: readers.reduce((s, r) => s + r.dropNotices, 0),
  complete: readers.filter((r) => r.gaps === 0 && r.dropNotices === 0 && r.finalSeq > 0 && r.events === r.finalSeq).length,
});
// The sockets stay open until the bench kills this process, after its probe: a thousand
// disconnects at once are not part of the fan-out being measured.
