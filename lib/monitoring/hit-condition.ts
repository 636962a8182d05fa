import { MonitoringError } from "./errors";

/** A DAP-style hit condition: "3" (exactly the 3rd), ">= 3", "> 3", "== 3", "<= 3", "< 3", "% 2" (every 2nd). */
export type HitCondition = (hits: number) => boolean;

const RE = /^\s*(>=|<=|==|>|<|%|=)?\s*(\d{1,9})\s*$/;

export function parseHitCondition(source: string): HitCondition {
  const m = RE.exec(source);
  if (!m) {
    throw new MonitoringError(
      "bad_request",
      "INVALID_HIT_CONDITION",
      `Invalid hit condition '${source}' (use a count like "3", ">= 3", "> 3", "< 3", "<= 3", "== 3" or "% 2")`,
    );
  }
  const n = Number(m[2]);
  switch (m[1]) {
    case ">=":
      return (h) => h >= n;
    case "<=":
      return (h) => h <= n;
    case ">":
      return (h) => h > n;
    case "<":
      return (h) => h < n;
    case "%":
      if (n === 0) throw new MonitoringError("bad_request", "INVALID_HIT_CONDITION", "Hit condition '% 0' divides by zero");
      return (h) => h % n === 0;
    default:
      return (h) => h === n;
  }
}
