import { preview } from "../monitoring";

/** Bound for a value that JSON cannot represent as is (cycles, BigInt): stored as a preview. */
const FALLBACK_BUDGET = 64 * 1024;

/** JSON text of `value`; a value JSON.stringify refuses is stored as a bounded preview instead. */
export function toJson(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    if (text !== undefined) return text;
  } catch {
    // fall through to the preview
  }
  return JSON.stringify(preview(value, FALLBACK_BUDGET)) ?? "null";
}
