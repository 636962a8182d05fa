/** Child processes of the tests: started, waited for until they say they are ready, ended by pid. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

export interface Started {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** The match of the line that said it was ready. */
  ready: RegExpExecArray;
}

/**
 * `node --import tsx <args>` with `env`; resolves once its output matches `ready`, throws with
 * the output if it exits first or is not ready within 60 s (then it is killed).
 */
export async function startNode(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, what: string): Promise<Started> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: process.cwd(), env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += String(d);
  });
  child.stderr?.on("data", (d) => {
    out += String(d);
  });
  const started = Date.now();
  for (;;) {
    const match = ready.exec(out);
    if (match !== null) return { child, output: () => out, ready: match };
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}):\n${out}`);
    if (Date.now() - started > 60_000) {
      child.kill("SIGKILL");
      throw new Error(`${what} did not start in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM, and SIGKILL after `graceMs`; resolves when it has exited. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
