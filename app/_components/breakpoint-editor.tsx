"use client";
/**
 * Condition / hit condition / log message of the breakpoint on one routine. The server checks
 * all three; its error is shown under the field it concerns and nothing is saved.
 */
import { useEffect, useRef, useState } from "react";
import { ApiError } from "@/lib/client/api";
import type { Breakpoint } from "@/lib/client/types";
import type { BreakpointsApi } from "./use-breakpoints";

type Field = "condition" | "hit_condition" | "log_message" | "general";

const FIELD_OF_CODE: Record<string, Field> = {
  INVALID_CONDITION: "condition",
  INVALID_HIT_CONDITION: "hit_condition",
  INVALID_LOG_MESSAGE: "log_message",
};

export function BreakpointEditor({ routineId, breakpoints, onClose }: { routineId: string; breakpoints: BreakpointsApi; onClose(): void }) {
  const existing: Breakpoint | undefined = breakpoints.list.find((b) => (b.type === "routine" || b.type === "slot") && b.routine_id === routineId);
  const [condition, setCondition] = useState(existing?.condition ?? "");
  const [hitCondition, setHitCondition] = useState(existing?.hit_condition ?? "");
  const [logMessage, setLogMessage] = useState(existing?.log_message ?? "");
  const [error, setError] = useState<{ field: Field; message: string } | null>(null);
  const [saving, setSaving] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);

  const save = async () => {
    setSaving(true);
    setError(null);
    const fields = { condition: condition.trim() || null, hit_condition: hitCondition.trim() || null, log_message: logMessage.trim() || null };
    try {
      if (existing) await breakpoints.patch.mutateAsync({ bp: existing, change: fields });
      else await breakpoints.add.mutateAsync({ routine_id: routineId, ...fields });
      onClose();
    } catch (err) {
      const e = err as ApiError;
      setError({ field: (e instanceof ApiError && FIELD_OF_CODE[e.code]) || "general", message: e.message });
    } finally {
      setSaving(false);
    }
  };
  const fieldError = (f: Field) =>
    error?.field === f ? (
      <div className="field-error" role="alert" data-testid={`breakpoint-error-${f}`}>
        {error.message}
      </div>
    ) : null;

  return (
    <div className="popover" role="dialog" aria-label={`Breakpoint on ${routineId}`} data-testid="breakpoint-editor">
      <div className="popover-head">
        <strong>Breakpoint on {routineId}</strong>
        <button type="button" className="icon" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label>
          Condition <span className="hint">stop only when true, e.g. <code>data.get('value', 0) &gt; 100</code></span>
          <input data-testid="breakpoint-condition" value={condition} onChange={(e) => setCondition(e.target.value)} placeholder="always" spellCheck={false} ref={first} />
        </label>
        {fieldError("condition")}
        <label>
          Hit condition <span className="hint">e.g. <code>&gt;= 3</code> or <code>% 2</code></span>
          <input data-testid="breakpoint-hit-condition" value={hitCondition} onChange={(e) => setHitCondition(e.target.value)} placeholder="every hit" spellCheck={false} />
        </label>
        {fieldError("hit_condition")}
        <label>
          Log message <span className="hint">a logpoint never stops: <code>value is {"{data['value']}"}</code></span>
          <input data-testid="breakpoint-log-message" value={logMessage} onChange={(e) => setLogMessage(e.target.value)} placeholder="(stop instead of logging)" spellCheck={false} />
        </label>
        {fieldError("log_message")}
        {fieldError("general")}
        <div className="popover-actions">
          {existing && (
            <button
              type="button"
              className="danger"
              onClick={() => {
                void breakpoints.remove.mutateAsync(existing).then(onClose, (e: Error) => setError({ field: "general", message: e.message }));
              }}
            >
              Remove
            </button>
          )}
          <button type="submit" className="primary" data-testid="breakpoint-save" disabled={saving}>
            Save
          </button>
        </div>
      </form>
    </div>
  );
}
