"use client";
/**
 * One trace event with its payload in full (an event-log row or a node's input/output): the JSON
 * pretty-printed, a Copy button, closed with Escape, the ✕ or a click beside it. Says when the
 * payload is only a preview (the job passed its payload budget before this event).
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import type { PayloadStats } from "@/lib/wire";
import { queries } from "./queries";

/** Puts `text` on the clipboard; without the async Clipboard API (a page not served over https or localhost), through a selected textarea. */
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("the browser refused to copy");
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Why a payload is only a preview, in words. */
export function budgetNote(p: PayloadStats): string {
  if (p.budget_bytes === 0 && p.kept === 0) return "this job kept no payloads in full (it ran with a payload budget of 0, or before payloads were kept, or it was interrupted)";
  return `this job passed its payload budget of ${formatBytes(p.budget_bytes)}: ${p.truncated_count} payload${p.truncated_count === 1 ? " is" : "s are"} kept as previews only (≤ 2 KB of JSON each)`;
}

export function PayloadViewer({ jobId, seq, onClose }: { jobId: string; seq: number; onClose(): void }) {
  const q = useQuery(queries.event(jobId, seq));
  const text = useMemo(() => (q.data ? JSON.stringify(q.data.event, null, 2) : ""), [q.data]);
  const [copy, setCopy] = useState<{ state: "idle" | "copied" | "failed"; message?: string }>({ state: "idle" });
  const dialog = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === "Escape") {
        e.preventDefault();
        onClose();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  useEffect(() => {
    dialog.current?.focus();
  }, []);
  const event = q.data?.event;
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a click beside the dialog closes it (Escape does too)
    <div className="modal-backdrop" role="presentation" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={dialog}
        className="payload-viewer"
        role="dialog"
        aria-modal="true"
        aria-label={`Event ${seq}`}
        tabIndex={-1}
        data-testid="payload-viewer"
        data-seq={seq}
        data-truncated={q.data ? String(q.data.truncated) : undefined}
      >
        <div className="payload-viewer-head">
          <strong>Event #{seq}</strong>
          {event && (
            <span className="mono small">
              {event.event_type}
              {event.routine_id ? ` · ${event.routine_id}` : ""} · {event.timestamp.slice(11, 23)}
            </span>
          )}
          <span className="spacer" />
          {text && <span className="muted small">{formatBytes(text.length)}</span>}
          <button
            type="button"
            data-testid="payload-copy"
            data-copied={copy.state === "copied" ? "true" : undefined}
            disabled={!text}
            onClick={() =>
              void copyText(text).then(
                () => setCopy({ state: "copied" }),
                (e: Error) => setCopy({ state: "failed", message: e.message }),
              )
            }
          >
            {copy.state === "copied" ? "Copied ✓" : "Copy"}
          </button>
          <button type="button" className="icon" aria-label="Close" data-testid="payload-close" onClick={onClose}>
            ✕
          </button>
        </div>
        {copy.state === "failed" && <div className="field-error">Could not copy: {copy.message}</div>}
        {q.data?.truncated && (
          <div className="warn-box slim" data-testid="payload-viewer-truncated" role="note">
            Preview only — {budgetNote(q.data.payloads)}.
          </div>
        )}
        {q.error && <div className="error-box">{(q.error as Error).message}</div>}
        {q.isPending && <div className="muted page">Loading…</div>}
        {text && (
          <pre className="payload-json" data-testid="payload-viewer-json">
            {text}
          </pre>
        )}
      </div>
    </div>
  );
}
