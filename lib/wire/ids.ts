import { z } from "zod";

/** Ids that travel in URLs and JSON (flows, jobs, breakpoints, connections). */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const ID_RULE = "1-128 of letters, digits, '_', '.', ':' or '-'";
/** Routine ids, slot and event names. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const NAME_RULE = "1-128 of letters, digits, '_' or '-'";

/** Slot and event names: an identifier-like word (they appear in `routine.event` endpoints). */
export const PORT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/**
 * Keys no JSON object of ours may have, and names no routine may take: they would reach an
 * object's prototype, and the DSL (where routine ids are keys) refuses them, so a flow built
 * otherwise could not be exported and imported again.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
export const RESERVED_RULE = "'__proto__', 'constructor' and 'prototype' are reserved";

export const IdSchema = z.string().regex(ID_PATTERN, `must be ${ID_RULE}`);
export const NameSchema = z
  .string()
  .regex(NAME_PATTERN, `must be ${NAME_RULE}`)
  .refine((name) => !RESERVED_KEYS.has(name), { message: `is reserved (${RESERVED_RULE})` });

export function isId(value: unknown): value is string {
  return typeof value === "string" && ID_PATTERN.test(value);
}

/** An untrusted id made printable and short, for error messages. */
export function shownId(id: string, max = 140): string {
  return id.replace(/[^\x20-\x7e]/g, "?").slice(0, max);
}
