"use client";
/** Breakpoints list: where, condition, hits, errors, enable toggle, edit, delete; "break on any error". */
import type { Breakpoint } from "@/lib/wire";
import type { EditTarget } from "./breakpoint-editor";
import { READ_ONLY_TITLE } from "./graph-context";
import type { BreakpointsApi } from "./use-breakpoints";

/** The global switch's breakpoints: error breakpoints on no routine in particular. */
export const isAnyError = (b: Breakpoint): boolean => b.type === "error" && b.routine_id === null;

export function describeBreakpoint(b: Breakpoint): string {
  if (b.type === "connection") return b.connection ?? "connection";
  if (b.type === "event") return `${b.routine_id}.${b.event_name} (emit)`;
  if (b.type === "error") return `${b.routine_id ?? "any routine"} (error)`;
  if (b.type === "slot") return `${b.routine_id}.${b.slot_name}`;
  return b.routine_id ?? "?";
}

export function BreakpointsPanel({
  breakpoints,
  onSelect,
  onEdit,
  readOnly = false,
}: {
  breakpoints: BreakpointsApi;
  onSelect(id: string): void;
  onEdit(target: EditTarget): void;
  /** Listed, not changeable (a job view drawn from its recorded flow). */
  readOnly?: boolean;
}) {
  const list = breakpoints.list;
  const lockedTitle = readOnly ? READ_ONLY_TITLE : undefined;
  const anyError = list.filter(isAnyError);
  return (
    <section className="panel" data-testid="breakpoints-panel">
      <h3>
        Breakpoints <span className="count">{list.length}</span>
      </h3>
      <label className="small switch" title={lockedTitle ?? "Stop after any routine's handler throws, before its error strategy applies"}>
        <input
          type="checkbox"
          data-testid="break-on-any-error"
          disabled={readOnly}
          checked={anyError.some((b) => b.enabled)}
          onChange={(e) => {
            const on = e.target.checked;
            const change = on ? (anyError.length ? Promise.all(anyError.map((b) => breakpoints.patch.mutateAsync({ bp: b, change: { enabled: true } }))) : breakpoints.add.mutateAsync({ type: "error" })) : Promise.all(anyError.map((b) => breakpoints.remove.mutateAsync(b)));
            void change.catch(() => {});
          }}
        />{" "}
        Break on any error
      </label>
      {list.length === 0 && <p className="muted small">{readOnly ? "None." : "None. Click the dot on a node."}</p>}
      <ul className="bp-list">
        {list.map((b) => (
          <li key={b.breakpoint_id} data-testid={`breakpoint-row-${b.breakpoint_id}`} className={b.enabled ? "" : "off"}>
            <input
              type="checkbox"
              checked={b.enabled}
              aria-label="enabled"
              data-testid={`breakpoint-enabled-${b.breakpoint_id}`}
              disabled={readOnly}
              title={lockedTitle}
              onChange={(e) => void breakpoints.patch.mutateAsync({ bp: b, change: { enabled: e.target.checked } }).catch(() => {})}
            />
            <button type="button" className="link mono" onClick={() => b.routine_id && onSelect(b.routine_id)}>
              {describeBreakpoint(b)}
            </button>
            <span className="scope" title={b.job_id ? "this job only" : "every job of the flow started after it"}>
              {b.job_id ? "job" : "flow"}
            </span>
            <span className="hits" title="hits">
              {b.hit_count} hits
            </span>
            {b.error_count > 0 && (
              <span className="err small" title={b.last_error ?? ""}>
                {b.error_count} errors
              </span>
            )}
            {(b.condition || b.hit_condition || b.log_message) && (
            <div className="bp-detail">
              {b.condition && <code title="condition">if {b.condition}</code>}
              {b.hit_condition && <code title="hit condition">hit {b.hit_condition}</code>}
              {b.log_message && <code title="log message">log “{b.log_message}”</code>}
            </div>
            )}
            {!readOnly && (
            <span className="bp-actions">
              {(b.routine_id || b.connection) && (
                <button
                  type="button"
                  className="icon"
                  aria-label="Edit"
                  data-testid={`breakpoint-edit-row-${b.breakpoint_id}`}
                  onClick={() => onEdit(b.connection ? { connectionId: b.connection, breakpointId: b.breakpoint_id } : { routineId: b.routine_id as string, breakpointId: b.breakpoint_id })}
                >
                  ✎
                </button>
              )}
              <button type="button" className="icon" aria-label="Delete" data-testid={`breakpoint-delete-${b.breakpoint_id}`} onClick={() => void breakpoints.remove.mutateAsync(b).catch(() => {})}>
                ✕
              </button>
            </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
