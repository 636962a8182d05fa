import { type ActivationContext, Flow, type FlowOptions, type Payload, Routine } from "../../lib";

/** A routine built from a handler, for tests: slot `input` (and `trigger`), events declared by connect. */
export class Fn extends Routine {
  constructor(
    handler: (payload: Payload, ctx: ActivationContext) => void | Promise<void>,
    slots: string[] = ["trigger", "input"],
  ) {
    super();
    for (const s of slots) this.defineSlot(s, handler);
  }
}

/** s → m1/m2 → l, every routine records what it ran in `order`. */
export function diamond(order: string[], options: FlowOptions = {}): Flow {
  const flow = new Flow("diamond", options);
  flow.addRoutine(
    new Fn((_p, ctx) => {
      order.push("src");
      ctx.emit("a", { x: 1 });
      ctx.emit("b", { x: 2 });
    }),
    "src",
  );
  flow.addRoutine(new Fn((p, ctx) => { order.push(`m1(x=${p.x})`); ctx.emit("out", { y: p.x }); }), "m1");
  flow.addRoutine(new Fn((p, ctx) => { order.push(`m2(x=${p.x})`); ctx.emit("out", { y: p.x }); }), "m2");
  flow.addRoutine(new Fn((p) => { order.push(`l(y=${p.y})`); }), "l");
  flow.connect("src", "a", "m1", "input");
  flow.connect("src", "b", "m2", "input");
  flow.connect("m1", "out", "l", "input");
  flow.connect("m2", "out", "l", "input");
  return flow;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds, polling on real timers (bounded). */
export async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error("waitFor: condition not met in time");
    await new Promise((r) => setImmediate(r));
  }
}

/** The DSL of a cycle that multiplies (a → b, a → c, b → a, c → a): every pass doubles its items. */
export const MULTIPLYING_CYCLE_DSL = {
  routines: { a: { class: "passthrough" }, b: { class: "passthrough" }, c: { class: "passthrough" } },
  connections: [
    { from: "a.output", to: "b.input" },
    { from: "a.output", to: "c.input" },
    { from: "b.output", to: "a.input" },
    { from: "c.output", to: "a.input" },
  ],
};
