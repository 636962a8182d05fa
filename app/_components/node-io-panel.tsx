"use client";
/**
 * The selected node's inputs and outputs, per activation, in full (running, finished and restored
 * jobs alike): each row folds open as a JSON tree, ⤢ opens it in the payload viewer. When the job
 * has ended, its final shared data too. Says when the job passed its payload budget.
 */
import { useInfiniteQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { useStore } from "zustand";
import type { JobLiveStore } from "@/lib/client/live-store";
import type { PayloadRow } from "@/lib/wire";
import type { ForkTarget } from "./fork-dialog";
import { JsonTree } from "./json-tree";
import { budgetNote, formatBytes } from "./payload-viewer";
import { queries } from "./queries";

export interface NodeIoPanelProps {
  jobId: string;
  store: JobLiveStore;
  /** The job has ended: rows stop changing, and its final shared data is shown. */
  final: boolean;
  /** The job's shared data as its last snapshot has it. */
  sharedData: Record<string, unknown> | undefined;
  onOpen(seq: number): void;
  /** "Re-run from here" on an input row: its activation, to fork from. */
  onFork?(target: ForkTarget): void;
}

export function NodeIoPanel({ jobId, store, final, sharedData, onOpen, onFork }: NodeIoPanelProps) {
  const routineId = useStore(store, (s) => s.selectedRoutine);
  const io = useInfiniteQuery(queries.io(jobId, routineId, !final));
  const pages = io.data?.pages;
  const rows = useMemo(() => (routineId ? (pages ?? []).flatMap((p) => p.rows) : []), [pages, routineId]);
  const stats = pages?.at(-1)?.payloads;
  return (
    <section className="panel" data-testid="node-io" data-routine-id={routineId ?? ""}>
      <h3>
        Inputs &amp; outputs{routineId ? <span className="mono"> · {routineId}</span> : null}
        {routineId && <span className="count">{rows.length}{io.hasNextPage ? "+" : ""}</span>}
      </h3>
      {stats?.truncated && (
        <div className="warn-box io-note" data-testid="node-io-truncated" data-count={stats.truncated_count} role="note">
          Not everything is kept in full: {budgetNote(stats)}. Those rows are marked <span className="badge">preview</span>.
        </div>
      )}
      {io.error && <div className="field-error">{(io.error as Error).message}</div>}
      {!routineId && <p className="muted small">Select a node to see every payload it received and emitted.</p>}
      {routineId && io.isSuccess && rows.length === 0 && <p className="muted small">{final ? "This node did not run in this job." : "Nothing yet."}</p>}
      {rows.length > 0 && (
        <ul className="io-list">
          {rows.map((row) => (
            <IoRow key={row.seq} row={row} onOpen={onOpen} onFork={onFork} />
          ))}
        </ul>
      )}
      {io.hasNextPage && (
        <button type="button" className="link small" data-testid="node-io-more" disabled={io.isFetchingNextPage} onClick={() => void io.fetchNextPage()}>
          {io.isFetchingNextPage ? "Loading…" : "Load more"}
        </button>
      )}
      {final && sharedData && (
        <div className="io-shared" data-testid="final-shared-data">
          <div className="var-scope-title">Final shared data</div>
          {Object.keys(sharedData).length === 0 ? <div className="muted small">empty</div> : <JsonTree value={sharedData} />}
        </div>
      )}
    </section>
  );
}

function IoRow({ row, onOpen, onFork }: { row: PayloadRow; onOpen(seq: number): void; onFork?(target: ForkTarget): void }) {
  const [open, setOpen] = useState(false);
  const size = useMemo(() => (JSON.stringify(row.payload) ?? "").length, [row.payload]);
  const input = row.kind === "input";
  return (
    <li className="io-row" data-testid="node-io-row" data-seq={row.seq} data-kind={row.kind} data-truncated={String(row.truncated)}>
      <div className="io-head">
        <button type="button" className="io-toggle" aria-expanded={open} data-testid="node-io-toggle" onClick={() => setOpen(!open)}>
          <span className="twisty">{open ? "▾" : "▸"}</span>
          <span className={`io-kind io-${row.kind}`}>{input ? "in" : "out"}</span>
          <span className="mono io-port">{input ? `${row.slot_name ?? ""}${row.event_name ? ` ← ${row.event_name}` : ""}` : `→ ${row.event_name ?? ""}`}</span>
          <span className="muted small io-meta" title={row.timestamp}>
            #{row.seq} · {formatBytes(size)}
          </span>
          {row.truncated && <span className="badge">preview</span>}
        </button>
        <button type="button" className="icon" aria-label={`Open payload #${row.seq} as JSON`} title="Open as JSON (copyable)" data-testid="node-io-open" onClick={() => onOpen(row.seq)}>
          ⤢
        </button>
        {input && onFork && (
          <button
            type="button"
            className="icon"
            data-testid="fork-from-here"
            data-seq={row.seq}
            disabled={row.truncated}
            aria-label={`Re-run from activation #${row.seq}`}
            title={row.truncated ? "Only a preview of this input is kept: it cannot be re-run as recorded" : "Re-run from here: a new job beginning with this activation (input editable)"}
            onClick={() => onFork({ fromSeq: row.seq, routineId: row.routine_id, slotName: row.slot_name, input: row.payload })}
          >
            ↻
          </button>
        )}
      </div>
      {open && (
        <div className="io-body" data-testid="node-io-payload">
          <JsonTree value={row.payload} />
        </div>
      )}
    </li>
  );
}
