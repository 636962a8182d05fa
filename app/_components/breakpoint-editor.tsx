"use client";
/**
 * The breakpoints of one routine or one connection, like an IDE's: each row is one breakpoint
 * (before the handler, before one slot, on error, on an emitted event, on the connection), and the
 * form below edits the selected row's condition / hit condition / log message — or makes a new
 * one. The server checks all three; its error is shown under the field it concerns and nothing is
 * saved. On a routine in a job view, "Run to here" continues to it through a one-shot breakpoint.
 */
import { useEffect, useRef, useState } from "react";
import { ApiError } from "@/lib/client/api";
import type { Breakpoint, BreakpointBody, FlowDetail } from "@/lib/wire";
import { Popover } from "./popover";
import type { BreakpointsApi } from "./use-breakpoints";

type Field = "condition" | "hit_condition" | "log_message" | "general";

const FIELD_OF_CODE: Record<string, Field> = {
  INVALID_CONDITION: "condition",
  INVALID_HIT_CONDITION: "hit_condition",
  INVALID_LOG_MESSAGE: "log_message",
};

/** What the editor is open on; `breakpointId` selects one of its breakpoints (null: a new one). */
export type EditTarget = ({ routineId: string } | { connectionId: string }) & { breakpointId?: string | null };

/** What a new breakpoint on a routine stops on. */
type Kind = "routine" | "error" | `slot:${string}` | `event:${string}`;

function kindLabel(b: Breakpoint): string {
  switch (b.type) {
    case "routine":
      return "before each activation";
    case "slot":
      return `before slot “${b.slot_name}”`;
    case "error":
      return "when the handler throws";
    case "event":
      return `when it emits “${b.event_name}”`;
    case "connection":
      return "when a payload crosses";
  }
}

function bodyFor(kind: Kind, routineId: string): BreakpointBody {
  if (kind === "error") return { type: "error", routine_id: routineId };
  if (kind.startsWith("slot:")) return { type: "slot", routine_id: routineId, slot_name: kind.slice(5) };
  if (kind.startsWith("event:")) return { type: "event", routine_id: routineId, event_name: kind.slice(6) };
  return { type: "routine", routine_id: routineId };
}

export function breakpointsOn(list: readonly Breakpoint[], target: EditTarget): Breakpoint[] {
  return "connectionId" in target ? list.filter((b) => b.type === "connection" && b.connection === target.connectionId) : list.filter((b) => b.type !== "connection" && b.routine_id === target.routineId);
}

export function BreakpointEditor({
  target,
  slots,
  events,
  breakpoints,
  onClose,
  onRunTo,
}: {
  target: EditTarget;
  slots: string[];
  events: string[];
  breakpoints: BreakpointsApi;
  onClose(): void;
  /** Set in a job view whose job can still run: continue to this routine. */
  onRunTo?: (routineId: string) => Promise<unknown>;
}) {
  const here = breakpointsOn(breakpoints.list, target);
  const [selectedId, setSelectedId] = useState<string | null>(target.breakpointId !== undefined ? target.breakpointId : (here[0]?.breakpoint_id ?? null));
  const selected = here.find((b) => b.breakpoint_id === selectedId) ?? null;
  const [kind, setKind] = useState<Kind>("routine");
  const [condition, setCondition] = useState(selected?.condition ?? "");
  const [hitCondition, setHitCondition] = useState(selected?.hit_condition ?? "");
  const [logMessage, setLogMessage] = useState(selected?.log_message ?? "");
  const [error, setError] = useState<{ field: Field; message: string } | null>(null);
  const [saving, setSaving] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  // What the editor shows now: a save that answers after the user moved on to another node, edge
  // or row must not close that one.
  const showing = useRef<{ target: EditTarget; selectedId: string | null } | null>(null);
  showing.current = { target, selectedId };
  useEffect(
    () => () => {
      showing.current = null;
    },
    [],
  );

  const choose = (b: Breakpoint | null): void => {
    setSelectedId(b?.breakpoint_id ?? null);
    setCondition(b?.condition ?? "");
    setHitCondition(b?.hit_condition ?? "");
    setLogMessage(b?.log_message ?? "");
    setError(null);
  };
  const fail = (err: unknown): void => {
    const e = err as ApiError;
    setError({ field: (e instanceof ApiError && FIELD_OF_CODE[e.code]) || "general", message: e.message });
  };

  const save = async () => {
    const savedFor = { target, selectedId };
    setSaving(true);
    setError(null);
    const fields = { condition: condition.trim() || null, hit_condition: hitCondition.trim() || null, log_message: logMessage.trim() || null };
    try {
      if (selected) await breakpoints.patch.mutateAsync({ bp: selected, change: fields });
      else if ("connectionId" in target) await breakpoints.add.mutateAsync({ type: "connection", connection: target.connectionId, ...fields });
      else await breakpoints.add.mutateAsync({ ...bodyFor(kind, target.routineId), ...fields });
      const now = showing.current;
      if (now !== null && JSON.stringify(now.target) === JSON.stringify(savedFor.target) && now.selectedId === savedFor.selectedId) onClose();
    } catch (err) {
      fail(err);
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
  const name = "connectionId" in target ? target.connectionId.replace(":", " → ") : target.routineId;

  return (
    <Popover title={`Breakpoints on ${name}`} label={`Breakpoints on ${name}`} testId="breakpoint-editor" onClose={onClose}>
      {here.length > 0 && (
        <ul className="bp-editor-rows">
          {here.map((b) => (
            <li key={b.breakpoint_id}>
              <button
                type="button"
                className={`bp-editor-row${b.breakpoint_id === selectedId ? " on" : ""}${b.enabled ? "" : " off"}`}
                data-testid={`breakpoint-editor-row-${b.breakpoint_id}`}
                data-selected={b.breakpoint_id === selectedId ? "true" : "false"}
                onClick={() => choose(b)}
              >
                {kindLabel(b)}
                {b.condition && <code> if {b.condition}</code>}
                {b.hit_condition && <code> hit {b.hit_condition}</code>}
                {b.log_message && <code> log</code>}
              </button>
            </li>
          ))}
          <li>
            <button type="button" className={`bp-editor-row${selectedId === null ? " on" : ""}`} data-testid="breakpoint-editor-new" onClick={() => choose(null)}>
              + another breakpoint
            </button>
          </li>
        </ul>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        {selected === null && !("connectionId" in target) && (
          <label>
            Break
            <select data-testid="breakpoint-kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
              <option value="routine">before each activation</option>
              {slots.length > 1 &&
                slots.map((s) => (
                  <option key={s} value={`slot:${s}`}>
                    before slot “{s}” only
                  </option>
                ))}
              <option value="error">when the handler throws</option>
              {events.map((ev) => (
                <option key={ev} value={`event:${ev}`}>
                  when it emits “{ev}”
                </option>
              ))}
            </select>
          </label>
        )}
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
          {onRunTo && "routineId" in target && (
            <button
              type="button"
              data-testid="run-to-here"
              title="Continue until this routine is about to run (other breakpoints still stop)"
              onClick={() => {
                void onRunTo(target.routineId).then(onClose, fail);
              }}
            >
              ⤓ Run to here
            </button>
          )}
          {selected && (
            <button
              type="button"
              className="danger"
              data-testid="breakpoint-remove"
              onClick={() => {
                void breakpoints.remove.mutateAsync(selected).then(() => choose(null), fail);
              }}
            >
              Remove
            </button>
          )}
          <button type="submit" className="primary" data-testid="breakpoint-save" disabled={saving}>
            {selected ? "Save" : "Add"}
          </button>
        </div>
      </form>
    </Popover>
  );
}

/** The editor for a target of this flow (its slots and events come from the flow). */
export function FlowBreakpointEditor({ target, flow, ...rest }: { target: EditTarget; flow: FlowDetail | undefined; breakpoints: BreakpointsApi; onClose(): void; onRunTo?: (routineId: string) => Promise<unknown> }) {
  const routine = "routineId" in target ? flow?.routines[target.routineId] : undefined;
  return <BreakpointEditor key={editKey(target)} target={target} slots={routine?.slots ?? []} events={routine?.events ?? []} {...rest} />;
}

/** Tells targets apart (the editor starts over when it changes). */
export const editKey = (t: EditTarget): string => `${"routineId" in t ? `r:${t.routineId}` : `c:${t.connectionId}`}:${t.breakpointId ?? ""}`;
