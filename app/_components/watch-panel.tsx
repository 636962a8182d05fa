"use client";
/** Watch expressions, evaluated against the paused activation every time the job stops. */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { PausedAt } from "@/lib/wire";
import { JsonValue } from "./json-tree";
import { queries } from "./queries";

const STORAGE = "routilux.watch";

export function WatchPanel({ jobId, pausedAt }: { jobId: string; pausedAt: PausedAt | null }) {
  const [expressions, setExpressions] = useState<string[]>([]);
  const [draft, setDraft] = useState("");
  useEffect(() => {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE) ?? "[]") as unknown;
      if (Array.isArray(saved)) setExpressions(saved.filter((s): s is string => typeof s === "string"));
    } catch {
      /* a broken entry is ignored */
    }
  }, []);
  const update = (list: string[]) => {
    setExpressions(list);
    localStorage.setItem(STORAGE, JSON.stringify(list));
  };
  return (
    <section className="panel" data-testid="watch-panel">
      <h3>Watch</h3>
      <ul className="watch">
        {expressions.map((x, i) => (
          <WatchRow key={x} jobId={jobId} expression={x} pausedAt={pausedAt} onRemove={() => update(expressions.filter((_, j) => j !== i))} />
        ))}
      </ul>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (draft.trim() && !expressions.includes(draft.trim())) update([...expressions, draft.trim()]);
          setDraft("");
        }}
      >
        <input data-testid="watch-input" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="add an expression, e.g. len(data)" spellCheck={false} />
      </form>
    </section>
  );
}

function WatchRow({ jobId, expression, pausedAt, onRemove }: { jobId: string; expression: string; pausedAt: PausedAt | null; onRemove(): void }) {
  const r = useQuery(queries.watch(jobId, expression, pausedAt));
  return (
    <li className="watch-row" data-testid="watch-row">
      <span className="mono">{expression}</span> ={" "}
      {!pausedAt ? <span className="muted">not paused</span> : r.error ? <span className="err small">{(r.error as Error).message}</span> : r.data ? <JsonValue value={r.data.result} /> : "…"}
      <button type="button" className="icon" aria-label={`Remove ${expression}`} onClick={onRemove}>
        ✕
      </button>
    </li>
  );
}
