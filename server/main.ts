/**
 * The one process: a custom Next.js server. It serves the UI now; the HTTP API, WebSockets and
 * socket.io join it here (see ../shared/spec/api.md) without a second process.
 */
import { createServer } from "node:http";
import next from "next";

const port = Number(process.env.PORT ?? 8765);
const hostname = process.env.HOST ?? "127.0.0.1";
const dev = process.env.NODE_ENV === "development";

const app = next({ dev, hostname, port, dir: process.cwd() });
await app.prepare();
const handle = app.getRequestHandler();

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    console.error("request failed", err);
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  });
});

server.listen(port, hostname, () => {
  console.log(`Routilux listening on http://${hostname === "127.0.0.1" ? "localhost" : hostname}:${port}`);
});

function shutdown(): void {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
