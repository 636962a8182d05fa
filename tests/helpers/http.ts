/** The JSON API as tests call it: one request, its status and parsed body; and a bounded poll. */

export interface ApiAnswer {
  status: number;
  /** The parsed body; `{}` when there is none (204). */
  json: Record<string, unknown>;
}

/** `method path` on `server`, with `body` sent as JSON when given. */
export async function api(server: { url: string }, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Calls `fn` until `ok` holds for its value (every 25 ms); throws with the last value after `ms`. */
export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() - start > ms) throw new Error(`condition not met: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
