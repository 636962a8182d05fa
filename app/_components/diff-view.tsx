"use client";
/**
 * `/jobs/diff?base=&other=`: two runs of one flow compared. The flow's graph with each node
 * coloured by its difference, the first divergence marked and selected, the selected node's
 * differing activation side by side (base | other: input and outputs), and per-connection counts.
 */
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useMemo, useState } from "react";
import { api } from "@/lib/client/api";
import type { JobDiff, PayloadRow } from "@/lib/wire";
import { FlowGraph } from "./flow-graph";
import type { GraphDiff } from "./graph-context";
import { queries } from "./queries";
import { StatusBadge } from "./status-badge";

const noop = (): void => {};
const noBreakpoints: never[] = [];

export function DiffView() {
  const params = useSearchParams();
  const base = params.get("base") ?? "";
  const other = params.get("other") ?? "";
  const diff = useQuery({ queryKey: ["diff", base, other], queryFn: () => api.diff(base, other), enabled: Boolean(base && other), retry: false });
  // The flow as the base run ran it (both runs are of one flow).
  const flow = useQuery({ ...queries.jobFlow(base), enabled: diff.isSuccess });
  const [picked, setPicked] = useState<string | null>(null);
  const d = diff.data;
  const selected = picked ?? d?.first_divergence?.routine_id ?? null;
  const graphDiff = useMemo<GraphDiff | null>(
    () =>
      d
        ? {
            routines: new Map(d.routines.map((r) => [r.routine_id, { diff: r.diff, base: r.base_activations, other: r.other_activations }])),
            firstDivergence: d.first_divergence?.routine_id ?? null,
            connections: new Map(d.connections.map((c) => [c.connection_id, { base: c.base_count, other: c.other_count }])),
          }
        : null,
    [d],
  );

  if (!base || !other) {
    return (
      <main className="page">
        <h1>Compare runs</h1>
        <div className="error-box" data-testid="diff-error">
          Give two jobs of one flow: /jobs/diff?base=&lt;job&gt;&amp;other=&lt;job&gt;
        </div>
      </main>
    );
  }
  return (
    <div className="workspace">
      <div className="toolbar">
        <Link href="/jobs" className="muted">
          Jobs /
        </Link>
        <strong>Compare</strong>
        <span className="small">
          base{" "}
          <Link href={`/jobs/${encodeURIComponent(base)}`} className="mono" data-testid="diff-base">
            {base}
          </Link>
          {d && <StatusBadge status={d.base.status} />}
        </span>
        <span className="small">
          other{" "}
          <Link href={`/jobs/${encodeURIComponent(other)}`} className="mono" data-testid="diff-other">
            {other}
          </Link>
          {d && <StatusBadge status={d.other.status} />}
        </span>
        {d?.inherited && (
          <span className="muted small" data-testid="diff-inherited">
            fork of {d.inherited.job_id} at #{d.inherited.seq}: the inherited part counts as equal
          </span>
        )}
        {d?.approximate && (
          <span className="warn-box slim" data-testid="diff-approximate">
            some payloads were compared by their previews only
          </span>
        )}
      </div>
      {diff.error && (
        <div className="error-box" data-testid="diff-error" role="alert">
          {(diff.error as Error).message}
        </div>
      )}
      {diff.isPending && <div className="muted page">Comparing…</div>}
      {d && (
        <div className="split">
          <div className="main-col">
            <div className="graph-area">
              {flow.data?.flow ? (
                <FlowGraph
                  flow={flow.data.flow}
                  breakpoints={noBreakpoints}
                  live={null}
                  selected={selected}
                  diff={graphDiff}
                  onSelect={setPicked}
                  onToggleBreakpoint={noop}
                  onEditBreakpoint={noop}
                  onToggleConnectionBreakpoint={noop}
                  onEditConnectionBreakpoint={noop}
                  readOnly
                />
              ) : flow.error ? (
                <div className="error-box">The flow could not be loaded: {(flow.error as Error).message}</div>
              ) : flow.data ? (
                <div className="muted page">No graph: the base job's flow is not recorded.</div>
              ) : (
                <div className="muted page">Loading the flow…</div>
              )}
            </div>
            <div className="bottom-dock diff-dock">
              <DiffTables d={d} onSelect={setPicked} />
            </div>
          </div>
          <aside className="side diff-side">
            <Divergence d={d} onSelect={setPicked} />
            {selected && <NodeComparison d={d} routineId={selected} />}
          </aside>
        </div>
      )}
    </div>
  );
}

function Divergence({ d, onSelect }: { d: JobDiff; onSelect(id: string): void }) {
  const f = d.first_divergence;
  if (!f) {
    return (
      <section className="panel" data-testid="no-divergence">
        <h3>First divergence</h3>
        <p className="small">None: every activation both runs made received and emitted the same.</p>
      </section>
    );
  }
  const seq = f.other.seq ?? f.base.seq;
  return (
    <section className="panel">
      <h3>First divergence</h3>
      <button type="button" className="link divergence" data-testid="first-divergence" data-routine-id={f.routine_id} data-seq={seq ?? ""} onClick={() => onSelect(f.routine_id)}>
        ⚑ <span className="mono">{f.routine_id}</span> · activation {f.index + 1} · {f.what === "missing" ? "ran in one run only" : `its ${f.what} differs`}
        {seq !== null ? ` · #${seq}` : ""}
      </button>
    </section>
  );
}

interface Side {
  seq: number | null;
  input: unknown;
  outputs: { event_name: string; payload: unknown }[];
}

/** The k-th activations of a routine in each run, from its inputs and outputs (activation ids pair them). */
function activations(rows: readonly PayloadRow[]): Side[] {
  const out: Side[] = [];
  const byId = new Map<number, Side>();
  for (const r of rows) {
    if (r.kind === "input") {
      const s: Side = { seq: r.seq, input: r.payload, outputs: [] };
      out.push(s);
      if (r.activation_id !== null) byId.set(r.activation_id, s);
    } else if (r.activation_id !== null) {
      byId.get(r.activation_id)?.outputs.push({ event_name: r.event_name ?? "", payload: r.payload });
    }
  }
  return out;
}

const same = (a: Side | undefined, b: Side | undefined): boolean => JSON.stringify(a ? [a.input, a.outputs] : null) === JSON.stringify(b ? [b.input, b.outputs] : null);

/** The selected node's differing activation, base | other. The first divergence comes with the diff; other nodes are read from each run's inputs and outputs. */
function NodeComparison({ d, routineId }: { d: JobDiff; routineId: string }) {
  const f = d.first_divergence;
  const own = f && f.routine_id === routineId;
  const baseIo = useQuery({ queryKey: ["io", d.base.job_id, routineId, "diff"], queryFn: () => api.io(d.base.job_id, { routine_id: routineId, limit: 1000 }), enabled: !own, retry: false });
  const otherIo = useQuery({ queryKey: ["io", d.other.job_id, routineId, "diff"], queryFn: () => api.io(d.other.job_id, { routine_id: routineId, limit: 1000 }), enabled: !own, retry: false });
  const pair = useMemo((): { index: number; base: Side | undefined; other: Side | undefined; differs: boolean } | null => {
    if (own && f) return { index: f.index, base: f.base.seq === null ? undefined : f.base, other: f.other.seq === null ? undefined : f.other, differs: true };
    if (!baseIo.data || !otherIo.data) return null;
    const a = activations(baseIo.data.rows);
    const b = activations(otherIo.data.rows);
    const n = Math.max(a.length, b.length);
    for (let k = 0; k < n; k++) if (!same(a[k], b[k])) return { index: k, base: a[k], other: b[k], differs: true };
    return n > 0 ? { index: 0, base: a[0], other: b[0], differs: false } : null;
  }, [own, f, baseIo.data, otherIo.data]);
  const r = d.routines.find((x) => x.routine_id === routineId);
  return (
    <section className="panel" data-testid="diff-compare" data-routine-id={routineId}>
      <h3>
        <span className="mono">{routineId}</span> {r && <span className={`badge diff-badge diff-${r.diff}`}>{r.diff}</span>}
      </h3>
      {r && (
        <p className="muted small">
          activations {r.base_activations} → {r.other_activations} · {r.equal_activations} equal
          {r.duration_ratio !== null ? ` · time ×${r.duration_ratio.toFixed(2)}` : ""}
        </p>
      )}
      {(baseIo.error || otherIo.error) && <div className="field-error">{((baseIo.error ?? otherIo.error) as Error).message}</div>}
      {pair === null ? (
        <p className="muted small">{baseIo.isPending && !own ? "Loading…" : "No activations in either run."}</p>
      ) : (
        <>
          <p className="small">
            {pair.differs ? `Activation ${pair.index + 1} differs:` : "Every activation is the same; the first:"}
          </p>
          <div className="side-by-side">
            <SideJson title="base" side={pair.base} testId="diff-base-json" />
            <SideJson title="other" side={pair.other} testId="diff-other-json" />
          </div>
        </>
      )}
    </section>
  );
}

function SideJson({ title, side, testId }: { title: string; side: Side | undefined; testId: string }) {
  return (
    <div className="side-json">
      <div className="var-scope-title">
        {title}
        {side?.seq ? <span className="muted small"> #{side.seq}</span> : null}
      </div>
      {side ? (
        <pre className="code" data-testid={testId}>
          {JSON.stringify({ input: side.input, outputs: side.outputs }, null, 2)}
        </pre>
      ) : (
        <div className="muted small" data-testid={testId}>
          no such activation
        </div>
      )}
    </div>
  );
}

function DiffTables({ d, onSelect }: { d: JobDiff; onSelect(id: string): void }) {
  return (
    <div className="diff-tables">
      <table className="table small" data-testid="diff-routines">
        <thead>
          <tr>
            <th>Routine</th>
            <th>Diff</th>
            <th>Activations</th>
            <th>Equal</th>
            <th>Time ×</th>
          </tr>
        </thead>
        <tbody>
          {d.routines.map((r) => (
            <tr key={r.routine_id} onClick={() => onSelect(r.routine_id)} className="clickable">
              <td className="mono">{r.routine_id}</td>
              <td>
                <span className={`badge diff-badge diff-${r.diff}`}>{r.diff}</span>
              </td>
              <td>
                {r.base_activations} → {r.other_activations}
              </td>
              <td>{r.equal_activations}</td>
              <td>{r.duration_ratio !== null ? r.duration_ratio.toFixed(2) : "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="table small" data-testid="diff-connections">
        <thead>
          <tr>
            <th>Connection</th>
            <th>Base</th>
            <th>Other</th>
          </tr>
        </thead>
        <tbody>
          {d.connections.map((c) => (
            <tr key={c.connection_id} data-testid={`diff-connection-${c.connection_id}`} data-base={c.base_count} data-other={c.other_count}>
              <td className="mono">{c.connection_id}</td>
              <td>{c.base_count}</td>
              <td className={c.base_count !== c.other_count ? "err" : ""}>{c.other_count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
