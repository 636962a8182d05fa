// The public API: `import { Flow, Routine, MonitoringRegistry, ... } from "<project>/lib"`.
export * from "./engine";
export * from "./monitoring";
export * from "./runtime";
