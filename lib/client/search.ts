/** Finding routines by name: the graph's search box (Ctrl+K). */
import type { RoutineInfo } from "../wire";

export interface RoutineMatch {
  routineId: string;
  type: string;
  /** What matched: the id (ranked first) or only the type. */
  on: "id" | "type";
}

/**
 * Routines whose id or type contains `query` (case-insensitive), best first: ids that start with
 * it, then ids that contain it, then types; each group in id order. An empty query finds nothing.
 */
export function searchRoutines(routines: Record<string, RoutineInfo>, query: string, limit = 50): RoutineMatch[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const ranked: { m: RoutineMatch; rank: number }[] = [];
  for (const r of Object.values(routines)) {
    const id = r.routine_id.toLowerCase();
    const at = id.indexOf(q);
    const rank = at === 0 ? 0 : at > 0 ? 1 : r.type.toLowerCase().includes(q) ? 2 : -1;
    if (rank >= 0) ranked.push({ m: { routineId: r.routine_id, type: r.type, on: rank < 2 ? "id" : "type" }, rank });
  }
  ranked.sort((a, b) => a.rank - b.rank || (a.m.routineId < b.m.routineId ? -1 : a.m.routineId > b.m.routineId ? 1 : 0));
  return ranked.slice(0, limit).map((x) => x.m);
}
