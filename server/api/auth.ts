import { createHash, timingSafeEqual } from "node:crypto";

/** The configured API keys (ROUTILUX_API_KEY, or comma-separated ROUTILUX_API_KEYS); empty = auth off. */
export function configuredKeys(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = [env.ROUTILUX_API_KEY ?? "", ...(env.ROUTILUX_API_KEYS ?? "").split(",")];
  return raw.map((k) => k.trim()).filter(Boolean);
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
