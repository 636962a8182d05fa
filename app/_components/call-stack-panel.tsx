"use client";
/** The causal chain of the paused activation; clicking a frame selects and centres its node. */
import { useQuery } from "@tanstack/react-query";
import type { PausedAt } from "@/lib/wire";
import { queries } from "./queries";

/** `frame`: the frame whose variables are shown (0 = the paused activation); a click selects one. */
export function CallStackPanel({ jobId, pausedAt, frame, onFrame }: { jobId: string; pausedAt: PausedAt | null; frame: number; onFrame(routineId: string, index: number): void }) {
  const stack = useQuery(queries.callStack(jobId, pausedAt));
  return (
    <section className="panel" data-testid="call-stack-panel">
      <h3>Call stack</h3>
      {!pausedAt && <p className="muted small">The chain of activations that led here shows while paused.</p>}
      {pausedAt && stack.error && <div className="field-error">{(stack.error as Error).message}</div>}
      <ol className="frames">
        {pausedAt &&
          stack.data?.frames.map((f, i) => (
            <li key={f.activation_id}>
              <button
                type="button"
                className={`frame${i === 0 ? " current" : ""}${i === frame ? " chosen" : ""}`}
                data-testid={`call-stack-frame-${i}`}
                data-routine-id={f.routine_id}
                data-selected={i === frame ? "true" : "false"}
                onClick={() => onFrame(f.routine_id, i)}
              >
                <span className="mono">
                  {f.routine_id}.{f.slot_name}
                </span>
                <span className="muted small">
                  {f.event_name ? `via ${f.event_name}` : "entry"} · depth {f.depth}
                  {f.line !== null ? ` · line ${f.line}` : ""}
                </span>
              </button>
            </li>
          ))}
      </ol>
    </section>
  );
}
