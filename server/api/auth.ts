import { createHash, timingSafeEqual } from "node:crypto";
import { RoutiluxError } from "../../lib/wire";

/** The configured API keys (ROUTILUX_API_KEY, or comma-separated ROUTILUX_API_KEYS); empty = auth off. */
export function configuredKeys(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = [env.ROUTILUX_API_KEY ?? "", ...(env.ROUTILUX_API_KEYS ?? "").split(",")];
  return raw.map((k) => k.trim()).filter(Boolean);
}

/**
 * The configured keys, refusing a set-but-blank one: `ROUTILUX_API_KEY="  "` (or an empty entry
 * in ROUTILUX_API_KEYS) is a mistake that would otherwise turn auth off without a word.
 */
export function checkedKeys(env: NodeJS.ProcessEnv = process.env): string[] {
  const blank = (s: string): boolean => s.trim() === "";
  if (env.ROUTILUX_API_KEY !== undefined && blank(env.ROUTILUX_API_KEY)) {
    throw new RoutiluxError("BAD_CONFIGURATION", "ROUTILUX_API_KEY is set but blank: set a key, or unset the variable to run without one", { kind: "bad_request" });
  }
  if (env.ROUTILUX_API_KEYS?.split(",").some(blank)) {
    throw new RoutiluxError("BAD_CONFIGURATION", "ROUTILUX_API_KEYS has a blank key: list keys separated by commas, or unset the variable to run without one", { kind: "bad_request" });
  }
  return configuredKeys(env);
}

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/** Constant-time check of a presented key against every configured key. */
export function keyMatches(presented: string, keys: string[]): boolean {
  const p = digest(presented);
  let ok = false;
  for (const k of keys) ok = timingSafeEqual(p, digest(k)) || ok;
  return ok;
}

export type AuthResult = { ok: true } | { ok: false; status: 401 | 403; message: string };

export function checkKey(presented: string | null | undefined, keys: string[] = configuredKeys()): AuthResult {
  if (keys.length === 0) return { ok: true };
  if (!presented) return { ok: false, status: 401, message: "Missing API key" };
  return keyMatches(presented, keys) ? { ok: true } : { ok: false, status: 403, message: "Invalid API key" };
}
