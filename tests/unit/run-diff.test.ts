/**
 * The run diff's comparison (a pure function over two runs' activations): per routine verdicts,
 * the first divergence in causal order, a fork's inherited part, and grouping payload rows into
 * activations.
 */
import { describe, expect, it } from "vitest";
import { diffRuns, jsonEqual, type RunActivation, type RunRecord } from "../../lib/runtime/run-diff";
import { activationsOf, answerRow } from "../../lib/runtime/run-source";
import type { PayloadRow } from "../../lib/wire";

let nextId = 0;
function act(routineId: string, startSeq: number, input: unknown, outputs: unknown[] = [], eventName = "out"): RunActivation {
  return { activationId: nextId++, routineId, startSeq, entry: false, input, outputs: outputs.map((payload) => ({ eventName, payload })), truncated: false };
}

function run(jobId: string, activations: RunActivation[], more: Partial<RunRecord> = {}): RunRecord {
  return {
    jobId,
    flowId: "f",
    status: "completed",
    forkedFrom: null,
    activations,
    durations: {},
    connectionCounts: {},
    routineIds: ["a", "b", "c"],
    connectionIds: [],
    approximate: false,
    ...more,
  };
}

/** a → b → c, each doubling what it got. */
function chain(data: number[], from = 2): RunActivation[] {
  const doubled = data.map((x) => x * 2);
  const quadrupled = doubled.map((x) => x * 2);
  return [act("a", from, { data }, [{ data }]), act("b", from + 2, { data }, [{ data: doubled }]), act("c", from + 4, { data: doubled }, [{ data: quadrupled }])];
}

describe("jsonEqual", () => {
  it("ignores key order and undefined keys, not array order or types", () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2, d: 3 }] }, { b: [1, { d: 3, c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, u: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: "1" })).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: null })).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});

describe("diffRuns", () => {
  it("two equal runs: every routine same, no divergence", () => {
    const d = diffRuns(run("j1", chain([1, 2])), run("j2", chain([1, 2], 5)));
    expect(d.first_divergence).toBeNull();
    expect(d.inherited).toBeNull();
    expect(d.routines.map((r) => [r.routine_id, r.diff, r.equal_activations, r.outputs_equal])).toEqual([
      ["a", "same", 1, true],
      ["b", "same", 1, true],
      ["c", "same", 1, true],
    ]);
  });

  it("different entry data: the root cause is the first routine's output, not what follows", () => {
    const base = run("j1", chain([1, 2]));
    // The entry's input is the same here; only what it emitted differs.
    const other = chain([1, 3]);
    (other[0] as RunActivation).input = { data: [1, 2] };
    const d = diffRuns(base, run("j2", other));
    expect(d.first_divergence).toMatchObject({ routine_id: "a", index: 0, what: "output", base: { seq: 2, outputs: [{ event_name: "out", payload: { data: [1, 2] } }] }, other: { seq: 2, outputs: [{ payload: { data: [1, 3] } }] } });
    expect(d.routines.map((r) => r.diff)).toEqual(["changed", "changed", "changed"]);
  });

  it("an input edited mid-run: diverges at that routine's input", () => {
    const other = chain([1, 2]);
    (other[1] as RunActivation).input = { data: [9] };
    (other[1] as RunActivation).outputs = [{ eventName: "out", payload: { data: [18] } }];
    (other[2] as RunActivation).input = { data: [18] };
    const d = diffRuns(run("j1", chain([1, 2])), run("j2", other));
    expect(d.first_divergence).toMatchObject({ routine_id: "b", what: "input", base: { input: { data: [1, 2] } }, other: { input: { data: [9] } } });
    expect(d.routines.find((r) => r.routine_id === "a")?.diff).toBe("same");
  });

  it("counts, only-base / only-other, missing activations and duration ratio", () => {
    const base = run("j1", [act("a", 2, 1, [1]), act("b", 4, 1), act("b", 6, 2)], { durations: { a: 10, b: 4 } });
    const other = run("j2", [act("a", 2, 1, [1]), act("b", 4, 1), act("c", 6, 3)], { durations: { a: 5, c: 1 }, routineIds: ["a", "b", "c", "d"] });
    const d = diffRuns(base, other);
    const by = Object.fromEntries(d.routines.map((r) => [r.routine_id, r]));
    expect(by.a).toMatchObject({ diff: "same", duration_ratio: 0.5 });
    expect(by.b).toMatchObject({ diff: "changed", base_activations: 2, other_activations: 1, equal_activations: 1, outputs_equal: true, duration_ratio: null });
    expect(by.c).toMatchObject({ diff: "only-other", base_activations: 0, other_activations: 1 });
    // Ran in neither: listed, the same.
    expect(by.d).toMatchObject({ diff: "same", base_activations: 0, other_activations: 0 });
    // b's second activation (base seq 6) vs c's (other's seq 6): the base run's seq decides, then the routine id.
    expect(d.first_divergence).toMatchObject({ routine_id: "b", index: 1, what: "missing", base: { seq: 6 }, other: { seq: null, input: null } });
  });

  it("only-base when the other run never reached a routine", () => {
    const d = diffRuns(run("j1", chain([1])), run("j2", chain([1]).slice(0, 2)));
    expect(d.routines.find((r) => r.routine_id === "c")?.diff).toBe("only-base");
    expect(d.first_divergence).toMatchObject({ routine_id: "c", what: "missing", other: { seq: null } });
  });

  it("per connection counts from both runs", () => {
    const d = diffRuns(run("j1", [], { connectionCounts: { c1: 2 }, connectionIds: ["c1", "c2"] }), run("j2", [], { connectionCounts: { c1: 3, c3: 1 } }));
    expect(d.connections).toEqual([
      { connection_id: "c1", base_count: 2, other_count: 3 },
      { connection_id: "c2", base_count: 0, other_count: 0 },
      { connection_id: "c3", base_count: 0, other_count: 1 },
    ]);
  });

  it("a fork counts what it inherited as equal: the divergence is where its edit took effect", () => {
    // The origin: a (seq 2), b (seq 4), c (seq 6). The fork re-runs b (forked at seq 4) with [5].
    const origin = run("j1", chain([1, 2]));
    const forkActs = [act("b", 2, { data: [5] }, [{ data: [10] }]), act("c", 4, { data: [10] }, [{ data: [20] }])];
    const fork = run("j2", forkActs, { forkedFrom: { job_id: "j1", seq: 4 } });
    for (const [base, other] of [
      [origin, fork],
      [fork, origin],
    ] as const) {
      const d = diffRuns(base, other);
      expect(d.inherited).toEqual({ job_id: "j1", seq: 4 });
      expect(d.routines.find((r) => r.routine_id === "a")).toMatchObject({ diff: "same", base_activations: 1, other_activations: 1 });
      expect(d.first_divergence).toMatchObject({ routine_id: "b", index: 0, what: "input" });
      const forkSide = base === fork ? d.first_divergence?.base : d.first_divergence?.other;
      expect(forkSide).toMatchObject({ seq: 2, input: { data: [5] } });
    }
    // Without lineage the fork is missing a: a would be the divergence.
    expect(diffRuns(origin, { ...fork, forkedFrom: null }).first_divergence).toMatchObject({ routine_id: "a", what: "missing" });
  });

  it("a job compared with itself, and previews make the answer approximate", () => {
    const r = run("j1", chain([1]));
    expect(diffRuns(r, r).first_divergence).toBeNull();
    const acts = chain([1]);
    (acts[2] as RunActivation).truncated = true;
    expect(diffRuns(r, run("j2", acts)).approximate).toBe(true);
    expect(diffRuns(r, run("j2", chain([1]))).approximate).toBe(false);
  });
});

describe("activationsOf", () => {
  const row = (seq: number, kind: "input" | "output", routine_id: string, activation_id: number | null, payload: unknown, truncated = false): PayloadRow => ({
    seq,
    kind,
    routine_id,
    activation_id,
    slot_name: kind === "input" ? "in" : null,
    event_name: kind === "output" ? "out" : null,
    timestamp: new Date(0).toISOString(),
    payload,
    truncated,
  });

  it("groups outputs with their activation, keeps a retry's first attempt, and places previews by routine", () => {
    const { activations, orphans } = activationsOf(
      [
      row(2, "input", "a", 1, { x: 1 }),
      row(3, "input", "b", 2, { y: 1 }),
      row(4, "output", "a", 1, { z: 1 }),
      // A retry of b: its input again.
      row(6, "input", "b", 2, { y: 1 }),
      row(7, "output", "b", 2, { w: 1 }),
      // Past the budget: previews without ids.
      row(9, "input", "a", null, { x: 2 }, true),
      row(10, "output", "a", null, { z: 2 }, true),
      row(12, "output", "c", null, {}, true),
    ].map(answerRow),
    );
    expect(orphans).toBe(1);
    expect(activations.map((a) => [a.routineId, a.startSeq, a.outputs.map((o) => o.payload), a.truncated])).toEqual([
      ["a", 2, [{ z: 1 }], false],
      ["b", 3, [{ w: 1 }], false],
      ["a", 9, [{ z: 2 }], true],
    ]);
  });
});
