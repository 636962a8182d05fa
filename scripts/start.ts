/**
 * `npm start`: builds the app when needed, then starts the server (http://localhost:8765 by
 * default) with the demo flows (ROUTILUX_DEMO=0 for none).
 */
import { buildIfNeeded } from "./build-if-needed";

buildIfNeeded();
process.env.NEXT_TELEMETRY_DISABLED = "1";
const { createServer } = await import("../server/main");
const running = await createServer();
console.log(`Routilux listening on ${running.url}`);
const shutdown = (): void => {
  running.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
