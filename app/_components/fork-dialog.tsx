"use client";
/**
 * "Re-run from here": a new job of the same flow that begins with one activation of this job, its
 * input as recorded or edited here, and the shared data as it was then (or edited). The original
 * job is never changed. Opens the new job.
 */
import { useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { api } from "@/lib/client/api";
import type { ForkRequest } from "@/lib/wire";

export interface ForkTarget {
  /** The seq of the activation's `routine_start`. */
  fromSeq: number;
  routineId: string;
  slotName: string | null;
  /** Its recorded input (prefills the editor); undefined while unknown. */
  input: unknown;
}

type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

/** Parses the editor's text as a JSON object (what a slot receives, and what shared data is). */
export function parseObject(text: string, what: string): Parsed {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `${what} is not valid JSON: ${(e as Error).message}` };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { ok: false, error: `${what} must be a JSON object ({...})` };
  return { ok: true, value: v as Record<string, unknown> };
}

const pretty = (v: unknown): string => JSON.stringify(v ?? {}, null, 2);

export function ForkDialog({ jobId, target, onClose }: { jobId: string; target: ForkTarget; onClose(): void }) {
  const router = useRouter();
  const [params, setParams] = useState(() => pretty(target.input));
  const [editShared, setEditShared] = useState(false);
  const [shared, setShared] = useState("{}");
  const [pauseOnStart, setPauseOnStart] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // The shared data as of the activation's start prefills its editor (the state API; without it
  // the fork still starts from the recorded shared data, only the editor starts empty).
  const at = useQuery({ queryKey: ["state-at", jobId, target.fromSeq], queryFn: () => api.stateAt(jobId, target.fromSeq), retry: false, staleTime: Number.POSITIVE_INFINITY });
  const recordedShared = at.data?.shared_data;
  useEffect(() => {
    if (recordedShared) setShared(pretty(recordedShared));
  }, [recordedShared]);

  const parsedParams = parseObject(params, "The input");
  const parsedShared = editShared ? parseObject(shared, "The shared data") : null;
  const invalid = !parsedParams.ok || (parsedShared !== null && !parsedShared.ok);

  const submit = async (): Promise<void> => {
    if (!parsedParams.ok || (parsedShared && !parsedShared.ok)) return;
    const body: ForkRequest = { from_seq: target.fromSeq, payload: parsedParams.value, ...(parsedShared?.ok ? { shared_data: parsedShared.value } : {}), ...(pauseOnStart ? { pause_on_start: true } : {}) };
    setBusy(true);
    setError(null);
    try {
      const forked = await api.fork(jobId, body);
      router.push(`/jobs/${encodeURIComponent(forked.job_id)}`);
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a click beside the dialog closes it (Escape does too)
    <div className="modal-backdrop" role="presentation" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        className="popover modal fork-dialog"
        role="dialog"
        aria-modal="true"
        aria-label="Re-run from here"
        data-testid="fork-dialog"
        onKeyDown={(e) => {
          if (e.key === "Escape") onClose();
        }}
      >
        <div className="popover-head">
          <strong>
            Re-run from <span className="mono">{target.routineId}</span>
            {target.slotName ? <span className="mono muted">.{target.slotName}</span> : null} <span className="muted small">#{target.fromSeq}</span>
          </strong>
          <button type="button" className="icon" onClick={onClose} aria-label="Close">
            ✕
          </button>
        </div>
        <p className="muted small">A new job of this flow that begins with this activation; this job stays as it is.</p>
        <label>
          Input (JSON)
          <textarea data-testid="fork-params" className="code" rows={8} value={params} onChange={(e) => setParams(e.target.value)} spellCheck={false} />
        </label>
        {!parsedParams.ok && (
          <div className="field-error" role="alert" data-testid="fork-params-error">
            {parsedParams.error}
          </div>
        )}
        <label className="check">
          <input type="checkbox" checked={editShared} onChange={(e) => setEditShared(e.target.checked)} data-testid="fork-edit-shared" /> Edit the shared data
        </label>
        {editShared && (
          <>
            <textarea data-testid="fork-shared" className="code" rows={5} value={shared} onChange={(e) => setShared(e.target.value)} spellCheck={false} />
            {parsedShared && !parsedShared.ok && (
              <div className="field-error" role="alert">
                {parsedShared.error}
              </div>
            )}
          </>
        )}
        {!editShared && at.isSuccess && <p className="muted small">Shared data: as it was at #{target.fromSeq}.</p>}
        <label className="check">
          <input type="checkbox" checked={pauseOnStart} onChange={(e) => setPauseOnStart(e.target.checked)} data-testid="fork-pause-on-start" /> Pause at start
        </label>
        {error && (
          <div className="field-error" role="alert" data-testid="fork-error">
            {error}
          </div>
        )}
        <div className="popover-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="primary" data-testid="fork-submit" disabled={invalid || busy} onClick={() => void submit()}>
            {busy ? "Starting…" : "Re-run from here"}
          </button>
        </div>
      </div>
    </div>
  );
}
