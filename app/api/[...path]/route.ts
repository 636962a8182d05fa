// Every /api/* route: a thin adapter from Next's Request to the API dispatcher, which reaches the
// process's one runtime through currentRuntime() (installed by the custom server before Next starts).
import { dispatch, readLimited } from "@/server/api/dispatch";

export const dynamic = "force-dynamic";

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const res = await dispatch({
    method: request.method,
    url,
    header: (name) => request.headers.get(name),
    readBody: (limit) => readLimited(request.body, request.headers.get("content-length"), limit),
  });
  if (res.body === undefined) return new Response(null, { status: res.status, headers: res.headers });
  return Response.json(res.body, { status: res.status, headers: { "cache-control": "no-store", ...res.headers } });
}

export const GET = handle;
export const POST = handle;
export const PUT = handle;
export const PATCH = handle;
export const DELETE = handle;
export const HEAD = handle;
