"use client";
/**
 * Condition / hit condition / log message of the breakpoint on one routine. The server checks
 * all three; its error is shown under the field it concerns and nothing is saved.
 */
import { useEffect, useRef, useState } from "react";
import { ApiError } from "@/lib/client/api";
import type { Breakpoint } from "@/lib/wire";
import { Popover } from "./popover";
import type { BreakpointsApi } from "./use-breakpoints";

type Field = "condition" | "hit_condition" | "log_message" | "general";

const FIELD_OF_CODE: Record<string, Field> = {
  INVALID_CONDITION: "condition",
  INVALID_HIT_CONDITION: "hit_condition",
  INVALID_LOG_MESSAGE: "log_message",
};

/** What a node's breakpoint stops on: before each activation, after an error, or before an emitted event travels. */
type Kind = "routine" | "error" | `event:${string}`;

const kindOf = (b: Breakpoint): Kind => (b.type === "error" ? "error" : b.type === "event" ? `event:${b.event_name ?? ""}` : "routine");

function inputFor(kind: Kind, routineId: string): { type: "routine" | "error" | "event"; routine_id: string; event_name?: string } {
  if (kind === "error") return { type: "error", routine_id: routineId };
  if (kind.startsWith("event:")) return { type: "event", routine_id: routineId, event_name: kind.slice(6) };
  return { type: "routine", routine_id: routineId };
}

export function BreakpointEditor({ routineId, events, breakpoints, onClose }: { routineId: string; events: string[]; breakpoints: BreakpointsApi; onClose(): void }) {
  const existing: Breakpoint | undefined = breakpoints.list.find((b) => b.type !== "connection" && b.routine_id === routineId);
  const [kind, setKind] = useState<Kind>(existing ? kindOf(existing) : "routine");
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
      if (existing && kindOf(existing) === kind) {
        await breakpoints.patch.mutateAsync({ bp: existing, change: fields });
      } else {
        // A breakpoint's kind cannot change: the new one is created first (the server checks it),
        // then the old one goes.
        await breakpoints.add.mutateAsync({ ...inputFor(kind, routineId), ...fields });
        if (existing) await breakpoints.remove.mutateAsync(existing);
      }
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
    <Popover title={`Breakpoint on ${routineId}`} label={`Breakpoint on ${routineId}`} testId="breakpoint-editor" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label>
          Break
          <select data-testid="breakpoint-kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            <option value="routine">before each activation</option>
            <option value="error">when the handler throws</option>
            {events.map((ev) => (
              <option key={ev} value={`event:${ev}`}>
                when it emits “{ev}”
              </option>
            ))}
          </select>
        </label>
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
    </Popover>
  );
}
