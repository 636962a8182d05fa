/**
 * Worker thread entry: parses DSL text (YAML or JSON, with every bound of DSL_LIMITS) off the
 * server's event loop. Answers `{id, value}` or `{id, error}` with the DslError's parts.
 */
import { parentPort } from "node:worker_threads";
import { DslError, parseDslText } from "../engine";

export interface DslWorkerRequest {
  id: number;
  text: string;
}

export type DslWorkerAnswer =
  | { id: number; value: unknown }
  | { id: number; error: { path: string; message: string; code: string; details: unknown } };

parentPort?.on("message", (request: DslWorkerRequest) => {
  let answer: DslWorkerAnswer;
  try {
    answer = { id: request.id, value: parseDslText(request.text) };
  } catch (err) {
    const dsl = err instanceof DslError ? err : null;
    answer = {
      id: request.id,
      error: { path: dsl?.path ?? "", message: dsl ? dsl.message : `Invalid DSL: ${(err as Error).message}`, code: dsl?.code ?? "INVALID_DSL", details: dsl?.details },
    };
  }
  parentPort?.postMessage(answer);
});
