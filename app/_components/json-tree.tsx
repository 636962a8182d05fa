"use client";
/** A JSON value as an expandable tree (objects and arrays fold; the first two levels start open). */
import { useState } from "react";

function summary(v: unknown): string {
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (v && typeof v === "object") return `{${Object.keys(v).slice(0, 4).join(", ")}${Object.keys(v).length > 4 ? ", …" : ""}}`;
  return JSON.stringify(v) ?? String(v);
}

export function JsonValue({ value }: { value: unknown }) {
  if (value === null) return <span className="j-null">null</span>;
  if (typeof value === "string") return <span className="j-str">{JSON.stringify(value)}</span>;
  if (typeof value === "number") return <span className="j-num">{String(value)}</span>;
  if (typeof value === "boolean") return <span className="j-bool">{String(value)}</span>;
  return <span className="j-sum">{summary(value)}</span>;
}

export function JsonTree({ value, depth = 0 }: { value: unknown; depth?: number }) {
  if (!value || typeof value !== "object") return <JsonValue value={value} />;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  return (
    <ul className="jtree">
      {entries.map(([k, v]) => (
        <JsonEntry key={k} name={k} value={v} depth={depth + 1} />
      ))}
    </ul>
  );
}

function JsonEntry({ name, value, depth }: { name: string; value: unknown; depth: number }) {
  const nested = value !== null && typeof value === "object";
  const [open, setOpen] = useState(depth < 2);
  return (
    <li>
      {nested ? (
        <button type="button" className="twisty" onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? "▾" : "▸"}
        </button>
      ) : (
        <span className="twisty" />
      )}
      <span className="j-key">{name}</span>: {nested && open ? <JsonTree value={value} depth={depth} /> : <JsonValue value={value} />}
    </li>
  );
}
