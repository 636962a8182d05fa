// The public API: `import { Flow, Routine, MonitoringRegistry, ... } from "<project>/lib"`.
export * from "./engine";
export * from "./monitoring";
export * from "./runtime";
// The zod the library validates routine configs with (`configSchema`), so a project needs no copy of its own.
export { z } from "zod";
