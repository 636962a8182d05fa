"use client";
/**
 * Run a flow: entry routine and slot, params as JSON (checked before sending), pause on start. It
 * opens with the input of the user's last run of this flow (kept in the browser), else the flow's
 * example run, so the first Run works as is.
 */
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

/** What the form holds; params as the text the user typed (their formatting is kept). */
interface RunInput {
  entry: string;
  slot: string;
  params: string;
}

type Source = "remembered" | "example" | "edited" | "default";

const storageKey = (flowId: string) => `routilux.run-input.${flowId}`;

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.localStorage;
  } catch {
    return null; // storage refused: nothing is remembered
  }
}

function defaultSlot(flow: FlowDetail, entry: string): string {
  const slots = flow.routines[entry]?.slots ?? [];
  return slots.includes("trigger") ? "trigger" : (slots[0] ?? "trigger");
}

/** On one line when it is short, else indented. */
function formatParams(params: Record<string, unknown>): string {
  const line = JSON.stringify(params);
  return line.length <= 60 ? line : JSON.stringify(params, null, 2);
}

function exampleInput(flow: FlowDetail): RunInput | null {
  const ex = flow.example;
  if (!ex || !flow.routines[ex.entry_routine_id]) return null;
  return { entry: ex.entry_routine_id, slot: ex.entry_slot, params: formatParams(ex.params) };
}

/** The last run's input, if it still fits the flow (its routine and slot are there). */
function rememberedInput(flow: FlowDetail): RunInput | null {
  try {
    const text = storage()?.getItem(storageKey(flow.flow_id));
    if (!text) return null;
    const v = JSON.parse(text) as Partial<RunInput>;
    if (typeof v.entry !== "string" || typeof v.slot !== "string" || typeof v.params !== "string") return null;
    if (!flow.routines[v.entry]?.slots.includes(v.slot)) return null;
    return { entry: v.entry, slot: v.slot, params: v.params };
  } catch {
    return null;
  }
}

function remember(flowId: string, input: RunInput | null): void {
  try {
    if (input) storage()?.setItem(storageKey(flowId), JSON.stringify(input));
    else storage()?.removeItem(storageKey(flowId));
  } catch {
    // Storage full or refused: the next run starts from the example again.
  }
}

function initialInput(flow: FlowDetail, candidates: string[]): { input: RunInput; source: Source } {
  const remembered = rememberedInput(flow);
  if (remembered) return { input: remembered, source: "remembered" };
  const example = exampleInput(flow);
  if (example) return { input: example, source: "example" };
  const entry = candidates[0] ?? "";
  return { input: { entry, slot: defaultSlot(flow, entry), params: "{}" }, source: "default" };
}

const SOURCE_NOTE: Record<Source, string> = {
  remembered: "Your last run of this flow",
  example: "The flow's example run",
  edited: "Edited",
  default: "This flow has no example run",
};

const same = (a: RunInput | null, b: RunInput): boolean => a !== null && a.entry === b.entry && a.slot === b.slot && a.params === b.params;

export function RunPanel({ flow, onClose }: { flow: FlowDetail; onClose(): void }) {
  const router = useRouter();
  const candidates = useMemo(() => entryCandidates(flow), [flow]);
  const example = useMemo(() => exampleInput(flow), [flow]);
  const [initial] = useState(() => initialInput(flow, candidates));
  const [entry, setEntry] = useState(initial.input.entry);
  const [slot, setSlot] = useState(initial.input.slot);
  const [params, setParams] = useState(initial.input.params);
  const slots = flow.routines[entry]?.slots ?? [];
  const [pauseOnStart, setPauseOnStart] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const current = { entry, slot, params };
  const isExample = same(example, current);
  const source: Source = isExample ? "example" : initial.source === "remembered" && same(initial.input, current) ? "remembered" : example ? "edited" : "default";

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
      // Remembered only once the server took it: a refused input is not offered again.
      remember(flow.flow_id, { entry, slot, params });
      router.push(`/jobs/${encodeURIComponent(job.job_id)}`);
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };

  const resetToExample = () => {
    if (!example) return;
    setEntry(example.entry);
    setSlot(example.slot);
    setParams(example.params);
    remember(flow.flow_id, null);
  };

  return (
    <Popover title={`Run ${flow.flow_id}`} label="Run flow" testId="run-panel" className="run-panel" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="run-source">
          <span className="muted small" data-testid="run-input-source" data-source={source}>
            {SOURCE_NOTE[source]}
          </span>
          {example && (
            <button type="button" className="link small" data-testid="run-reset-example" disabled={isExample} onClick={resetToExample} title="Entry routine, slot and params of the flow's example run">
              Reset to example
            </button>
          )}
        </div>
        <div className="row">
          <label>
            Entry routine
            <select
              data-testid="run-entry-routine"
              value={entry}
              onChange={(e) => {
                setEntry(e.target.value);
                setSlot(defaultSlot(flow, e.target.value));
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
