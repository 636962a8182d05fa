/**
 * A generated real-size flow for tests and benches: 50 routines with a splitter (fan-out), routers
 * (one nested), a filter with a reject path, branches that join again (fan-in), an aggregator and
 * a fan-out after the join. Orders go in; each order takes one branch by its kind.
 */

export const BIG_FLOW_ROUTINES = 50;

type Dsl = {
  flow_id: string;
  routines: Record<string, { class: string; config?: Record<string, unknown> }>;
  connections: { from: string; to: string }[];
  execution?: { strategy: "sequential" | "concurrent"; max_workers?: number };
};

const KINDS = ["small", "large", "bulk", "other"] as const;

/** The entry params: `n` orders, kinds in turn, quantities 1..5. */
export function bigFlowParams(n = 12): { orders: { id: number; kind: string; qty: number }[] } {
  return { orders: Array.from({ length: n }, (_, i) => ({ id: i + 1, kind: KINDS[i % KINDS.length] as string, qty: (i % 5) + 1 })) };
}

/** The flow as DSL (entry: routine `intake`, slot `input`, params `bigFlowParams(orders)`). */
export function bigFlowDsl(flowId = "orders_50", orders = 12, strategy: "sequential" | "concurrent" = "sequential"): Dsl {
  const routines: Dsl["routines"] = {};
  const connections: Dsl["connections"] = [];
  const add = (id: string, cls: string, config?: Record<string, unknown>): string => {
    routines[id] = config ? { class: cls, config } : { class: cls };
    return id;
  };
  const link = (from: string, to: string): void => {
    connections.push({ from, to: `${to}.input` });
  };
  /** A chain of `n` routines fed by `from`; returns the last one's output endpoint. */
  const chain = (prefix: string, n: number, from: string): string => {
    let prev = from;
    for (let i = 0; i < n; i++) {
      const id = add(`${prefix}${i}`, i % 2 === 0 ? "passthrough" : "mapper", i % 2 === 0 ? undefined : { set: { [`${prefix}step`]: i } });
      link(prev, id);
      prev = `${id}.output`;
    }
    return prev;
  };

  add("intake", "passthrough");
  add("split", "splitter", { field: "orders", item_key: "order" });
  link("intake.output", "split");
  add("route", "router", { routes: KINDS.slice(0, 3).map((k) => ({ event: k, condition: `order.kind == '${k}'` })) });
  link("split.item", "route");

  // small: a chain with a filter whose rejects go to their own sink.
  const small = chain("small_", 3, "route.small");
  add("small_check", "filter", { condition: "order.qty >= 1" });
  link(small, "small_check");
  add("rejects", "passthrough");
  link("small_check.rejected", "rejects");
  const smallEnd = chain("small_post_", 4, "small_check.output");

  // large: a nested router that splits and joins again.
  const large = chain("large_", 3, "route.large");
  add("large_route", "router", { routes: [{ event: "heavy", condition: "order.qty > 2" }] });
  link(large, "large_route");
  const heavy = chain("large_heavy_", 2, "large_route.heavy");
  const light = chain("large_light_", 2, "large_route.default");
  add("large_join", "passthrough");
  link(heavy, "large_join");
  link(light, "large_join");

  const bulkEnd = chain("bulk_", 6, "route.bulk");
  const otherEnd = chain("other_", 4, "route.default");

  add("merge", "passthrough");
  for (const end of [smallEnd, "large_join.output", bulkEnd, otherEnd]) link(end, "merge");
  add("collect", "aggregator", { count: orders });
  link("merge.output", "collect");
  add("report", "mapper", { rename: { items: "orders" } });
  link("collect.output", "report");
  add("done", "passthrough");
  link("report.output", "done");

  // After the join, every order also goes down an audit chain long enough to make 50 routines.
  const used = Object.keys(routines).length;
  chain("audit_", BIG_FLOW_ROUTINES - used, "merge.output");

  return { flow_id: flowId, routines, connections, execution: { strategy } };
}
