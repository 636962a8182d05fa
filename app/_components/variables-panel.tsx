"use client";
/**
 * Variables of the paused activation: `local` (the payload the handler will receive) and
 * `shared` (the job's shared data), as trees; a value is edited inline as JSON and sent to the
 * server, which hands the new value to the handler.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { api } from "@/lib/client/api";
import type { PausedAt } from "@/lib/wire";
import { JsonTree, JsonValue } from "./json-tree";
import { queries, queryKeys } from "./queries";

/** `frame`: the call-stack frame shown (0 = the paused activation, editable; others read-only). */
export function VariablesPanel({ jobId, pausedAt, frame = 0 }: { jobId: string; pausedAt: PausedAt | null; frame?: number }) {
  const qc = useQueryClient();
  const vars = useQuery(queries.variables(jobId, pausedAt, frame));
  const readOnly = vars.data?.read_only ?? frame > 0;
  // An edit changes what watches and the stack read too: everything about this stop is read again.
  const refresh = () => qc.invalidateQueries({ queryKey: queryKeys.stop(jobId) });
  return (
    <section className="panel" data-testid="variables-panel" data-frame={frame} data-read-only={readOnly ? "true" : "false"}>
      <h3>Variables</h3>
      {pausedAt && vars.data && frame > 0 && (
        <p className="muted small" data-testid="variables-frame-note">
          Frame {frame}: what {vars.data.routine_id}.{vars.data.slot_name} received (activation {vars.data.activation_id}) — read-only
        </p>
      )}
      {!pausedAt && <p className="muted small">Variables show while the job is paused.</p>}
      {pausedAt && vars.error && <div className="field-error">{(vars.error as Error).message}</div>}
      {pausedAt && vars.data && (
        <>
          <VariableScope jobId={jobId} scope="local" values={vars.data.variables.local} onSaved={refresh} readOnly={readOnly} />
          <VariableScope jobId={jobId} scope="shared" values={vars.data.variables.shared} onSaved={refresh} readOnly={readOnly} />
        </>
      )}
    </section>
  );
}

function VariableScope({ jobId, scope, values, onSaved, readOnly }: { jobId: string; scope: "local" | "shared"; values: Record<string, unknown>; onSaved(): void; readOnly: boolean }) {
  const names = Object.keys(values);
  return (
    <div className="var-scope">
      <div className="var-scope-title">{scope === "local" ? "Local (payload)" : "Shared"}</div>
      {names.length === 0 && <div className="muted small">empty</div>}
      <ul className="vars">
        {names.map((n) => (
          <Variable key={n} jobId={jobId} scope={scope} name={n} value={values[n]} onSaved={onSaved} readOnly={readOnly} />
        ))}
      </ul>
    </div>
  );
}

function Variable({ jobId, scope, name, value, onSaved, readOnly }: { jobId: string; scope: "local" | "shared"; name: string; value: unknown; onSaved(): void; readOnly: boolean }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState(true);
  const editor = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (editing) editor.current?.focus();
  }, [editing]);
  const nested = value !== null && typeof value === "object";
  const startEdit = () => {
    setText(JSON.stringify(value, null, 2) ?? "null");
    setError(null);
    setEditing(true);
  };
  const save = async () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      setError(`Not valid JSON: ${(e as Error).message}`);
      return;
    }
    try {
      await api.setVariable(jobId, name, parsed, scope);
      setEditing(false);
      onSaved();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <li className="var">
      {/* The row is the variable's test id; a click on its value (which fills the row) edits it. */}
      <div className="var-row" data-testid={`variable-${scope}-${name}`}>
        {nested ? (
          <button type="button" className="twisty" onClick={() => setOpen(!open)} aria-expanded={open}>
            {open ? "▾" : "▸"}
          </button>
        ) : (
          <span className="twisty" />
        )}
        <span className="j-key">{name}</span>:{" "}
        {!editing && readOnly && (
          <span className="var-value" data-testid={`variable-value-${scope}-${name}`}>
            <JsonValue value={value} />
          </span>
        )}
        {!editing && !readOnly && (
          <button type="button" className="var-value" title="Click to edit as JSON" onClick={startEdit} data-testid={`variable-value-${scope}-${name}`}>
            <JsonValue value={value} />
          </button>
        )}
        {!editing && !readOnly && (
          <button type="button" className="icon" aria-label={`Edit ${name}`} data-testid={`variable-edit-${scope}-${name}`} onClick={startEdit}>
            ✎
          </button>
        )}
      </div>
      {!editing && nested && open && <JsonTree value={value} depth={1} />}
      {editing && (
        <form
          className="var-edit"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <textarea
            data-testid="variable-editor"
            className="code"
            rows={Math.min(10, text.split("\n").length + 1)}
            value={text}
            onChange={(e) => setText(e.target.value)}
            spellCheck={false}
            ref={editor}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void save();
              if (e.key === "Escape") setEditing(false);
            }}
          />
          {error && (
            <div className="field-error" role="alert">
              {error}
            </div>
          )}
          <div className="popover-actions">
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" className="primary" data-testid="variable-save">
              Save
            </button>
          </div>
        </form>
      )}
    </li>
  );
}
