"use client";
/** Run a flow: entry routine and slot, params as JSON (checked before sending), pause on start. */
import { useRouter } from "next/navigation";
import { useMemo, useState } from "react";
import { api } from "@/lib/client/api";
import type { FlowDetail } from "@/lib/wire";
import { Popover } from "./popover";

/** Entry candidates: routines nothing connects into come first. */
function entryCandidates(flow: FlowDetail): string[] {
  const targets = new Set(flow.connections.map((c) => c.target_routine));
  const ids = Object.keys(flow.routines);
  return [...ids.filter((id) => !targets.has(id)), ...ids.filter((id) => targets.has(id))];
}

export function RunPanel({ flow, onClose }: { flow: FlowDetail; onClose(): void }) {
  const router = useRouter();
  const candidates = useMemo(() => entryCandidates(flow), [flow]);
  const [entry, setEntry] = useState(candidates[0] ?? "");
  const slots = flow.routines[entry]?.slots ?? [];
  const [slot, setSlot] = useState<string>(slots.includes("trigger") ? "trigger" : (slots[0] ?? "trigger"));
  const [params, setParams] = useState("{}");
  const [pauseOnStart, setPauseOnStart] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const parsed = useMemo((): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } => {
    try {
      const v: unknown = JSON.parse(params || "{}");
      if (typeof v !== "object" || v === null || Array.isArray(v)) return { ok: false, message: "Entry params must be a JSON object, like {\"data\": [1, 2, 3]}" };
      return { ok: true, value: v as Record<string, unknown> };
    } catch (e) {
      return { ok: false, message: `Not valid JSON: ${(e as Error).message}` };
    }
  }, [params]);

  const submit = async () => {
    if (!parsed.ok) return;
    setBusy(true);
    setError(null);
    try {
      const job = await api.startJob({ flow_id: flow.flow_id, entry_routine_id: entry, entry_slot: slot, entry_params: parsed.value, pause_on_start: pauseOnStart });
      router.push(`/jobs/${encodeURIComponent(job.job_id)}`);
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };

  return (
    <Popover title={`Run ${flow.flow_id}`} label="Run flow" testId="run-panel" className="run-panel" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="row">
          <label>
            Entry routine
            <select
              data-testid="run-entry-routine"
              value={entry}
              onChange={(e) => {
                setEntry(e.target.value);
                const s = flow.routines[e.target.value]?.slots ?? [];
                setSlot(s.includes("trigger") ? "trigger" : (s[0] ?? "trigger"));
              }}
            >
              {candidates.map((id) => (
                <option key={id} value={id}>
                  {id}
                </option>
              ))}
            </select>
          </label>
          <label>
            Entry slot
            <select data-testid="run-entry-slot" value={slot} onChange={(e) => setSlot(e.target.value)}>
              {(slots.length ? slots : ["trigger"]).map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        </div>
        <label>
          Entry params (JSON)
          <textarea data-testid="run-params" className="code" rows={6} value={params} onChange={(e) => setParams(e.target.value)} spellCheck={false} />
        </label>
        {!parsed.ok && (
          <div className="field-error" role="alert" data-testid="run-params-error">
            {parsed.message}
          </div>
        )}
        <label className="check">
          <input type="checkbox" checked={pauseOnStart} onChange={(e) => setPauseOnStart(e.target.checked)} data-testid="run-pause-on-start" /> Pause on start
        </label>
        {error && (
          <div className="field-error" role="alert">
            {error}
          </div>
        )}
        <div className="popover-actions">
          <button type="submit" className="primary" data-testid="run-submit" disabled={!parsed.ok || busy}>
            {busy ? "Starting…" : "Run"}
          </button>
        </div>
      </form>
    </Popover>
  );
}
