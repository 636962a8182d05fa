// The public API: `import { Flow, Routine, ... } from "<project>/lib"`.
export * from "./engine";
