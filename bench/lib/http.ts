/** What the bench parts do over HTTP and while waiting on their own readers. */

/** `method path` on `server` (JSON in and out); a non-2xx answer throws with its body. */
export async function api(server: { url: string }, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Polls `pred` every `pollMs` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, pred: () => boolean, timeoutMs: number, pollMs: number): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
