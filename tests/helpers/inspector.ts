/**
 * Talks to a test server's V8 inspector (started with `startServer(env, { inspect: true })`):
 * force a full GC and read `process.memoryUsage()` in the server process. Memory assertions then
 * measure what is still reachable, not when the collector last happened to run.
 */
import WebSocket from "ws";
import type { TestServer } from "./server";

export interface ServerMemory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface Inspector {
  /** Full GC, then the server's memory in MB. */
  memoryAfterGc(): Promise<ServerMemory>;
  /** Evaluates `expression` in the server process (its global scope); returns its value as JSON text. */
  evaluate(expression: string): Promise<string>;
  close(): void;
}

export async function connectInspector(server: TestServer): Promise<Inspector> {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(server.output())?.[1];
  if (!url) throw new Error(`server was not started with inspect: true:\n${server.output()}`);
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (msg.id === undefined) return;
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) p?.reject(new Error(msg.error.message));
    else p?.resolve(msg.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  const mb = (n: number): number => n / 2 ** 20;
  return {
    async memoryAfterGc() {
      // Twice: the first pass can leave objects that only the second finds unreachable (weak refs).
      await send("HeapProfiler.collectGarbage");
      await send("HeapProfiler.collectGarbage");
      const r = (await send("Runtime.evaluate", { expression: "JSON.stringify(process.memoryUsage())", returnByValue: true })) as { result: { value: string } };
      const m = JSON.parse(r.result.value) as ServerMemory;
      return { rss: mb(m.rss), heapUsed: mb(m.heapUsed), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) };
    },
    async evaluate(expression: string) {
      const r = (await send("Runtime.evaluate", { expression: `JSON.stringify(${expression})`, returnByValue: true })) as { result: { value?: string }; exceptionDetails?: { text: string } };
      if (r.exceptionDetails) throw new Error(`evaluate failed: ${r.exceptionDetails.text}`);
      return r.result.value ?? "undefined";
    },
    close: () => ws.close(),
  };
}
