/**
 * `npm start`: builds the app when needed, then starts the server (http://localhost:8765 by
 * default) with the demo flows (ROUTILUX_DEMO=0 for none).
 */
import { buildIfNeeded } from "./build-if-needed";

buildIfNeeded();
process.env.NEXT_TELEMETRY_DISABLED = "1";
// Imported after the build: Next reads its build output when the server is created.
const { main } = await import("../server/main");
await main({ demos: process.env.ROUTILUX_DEMO !== "0" });
