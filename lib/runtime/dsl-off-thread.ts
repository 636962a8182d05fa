/**
 * DSL text parsed on a worker thread, so a large or hostile document never stalls the server's
 * event loop: the YAML parser costs tens of microseconds per key, so even a document within
 * DSL_LIMITS (10,000 entries) would hold the loop for hundreds of milliseconds. One worker,
 * started on first use and unref'd (it never keeps the process alive); requests are queued to it
 * in order. When no worker can run (the worker file is missing, e.g. in a bundle), the text is
 * parsed in place: same result, same errors, only without the off-thread benefit.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { DslError, parseDslText, precheckDslText } from "../engine";
import type { DslWorkerAnswer } from "./dsl-worker";

/** Texts shorter than this are parsed in place: a round trip to the worker costs more. */
const OFF_THREAD_FROM_CHARS = 16_384;

let worker: Worker | null = null;
let unavailable = false;
let nextId = 0;
const pending = new Map<number, { text: string; resolve: (value: unknown) => void; reject: (err: unknown) => void }>();

function workerFile(): string | null {
  try {
    const here = fileURLToPath(import.meta.url);
    const file = join(dirname(here), here.endsWith(".ts") ? "dsl-worker.ts" : "dsl-worker.js");
    return existsSync(file) ? file : null;
  } catch {
    return null;
  }
}

/** The worker is gone: what it had not answered is parsed in place (same answers, on this thread). */
function parseLeftovers(): void {
  const left = [...pending.values()];
  pending.clear();
  for (const p of left) {
    try {
      p.resolve(parseDslText(p.text));
    } catch (err) {
      p.reject(err);
    }
  }
}

function getWorker(): Worker | null {
  if (worker || unavailable) return worker;
  const file = workerFile();
  if (!file) {
    unavailable = true;
    return null;
  }
  try {
    // From source (tsx), a worker does not inherit the TypeScript loader: register it first.
    const w = file.endsWith(".ts")
      ? new Worker(`require("tsx/cjs/api").register(); require(${JSON.stringify(file)});`, { eval: true })
      : new Worker(pathToFileURL(file));
    w.unref();
    w.on("message", (answer: DslWorkerAnswer) => {
      const p = pending.get(answer.id);
      if (!p) return;
      pending.delete(answer.id);
      if ("error" in answer) {
        const e = answer.error;
        const details = e.details as { limit: "text" | "entries" | "depth" | "aliases"; max: number } | undefined;
        const limit = e.code === "DSL_LIMIT_EXCEEDED" && details ? { name: details.limit, max: details.max } : undefined;
        // The message already carries the path; rebuild it without prefixing it twice.
        const error = new DslError("", e.message, limit);
        Object.defineProperty(error, "path", { value: e.path });
        p.reject(error);
      } else {
        p.resolve(answer.value);
      }
    });
    const lost = (reason: unknown) => {
      if (worker !== w) return;
      worker = null;
      // A worker that cannot run (no loader, no file) is not tried again on every request.
      unavailable = true;
      console.warn(`[dsl] parsing DSL text on the main thread: its worker stopped (${reason instanceof Error ? reason.message : String(reason)})`);
      parseLeftovers();
    };
    w.on("error", lost);
    w.on("exit", (code) => lost(`exit code ${code}`));
    worker = w;
    return w;
  } catch {
    unavailable = true;
    return null;
  }
}

/** parseDslText, on the worker thread for texts worth it. */
export async function parseDslTextOffThread(text: string): Promise<unknown> {
  // The linear checks run here first (a few ms for 1 MB): a text over a bound is refused at once.
  precheckDslText(text);
  const w = text.length >= OFF_THREAD_FROM_CHARS ? getWorker() : null;
  if (!w) return parseDslText(text);
  const id = ++nextId;
  const answer = new Promise<unknown>((resolve, reject) => pending.set(id, { text, resolve, reject }));
  // While an answer is awaited the worker must keep running even if nothing else holds the process.
  w.ref();
  w.postMessage({ id, text });
  try {
    return await answer;
  } finally {
    if (pending.size === 0) w.unref();
  }
}
