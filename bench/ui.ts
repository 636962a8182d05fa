/**
 * The browser figures: e2e/performance.spec.ts (a 300-routine flow drawn, then ~1,000 events/s for
 * 10 s into its debugger) run by Playwright in a child process against a production build, on a
 * server of its own on a free port (Playwright's webServer starts it there and stops it), a few
 * times; each run appends its figures to a temporary file this reads, then removes. Judged here,
 * not in `npm test`: the median of the runs against the target and the regression bound of each
 * figure (e2e/ui-figures.ts).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeTimelineFigures, judgeUiFigures, TIMELINE_FIGURES_LOG_ENV, type TimelineFigures, UI_FIGURES_LOG_ENV, type UiFigures } from "../e2e/ui-figures";
import { buildIfNeeded } from "../scripts/build-if-needed";
import { freePort } from "../tests/helpers/server";

/** Runs of e2e/performance.spec.ts; the verdict is on their median. */
const RUNS = Math.max(1, Number(process.env.BENCH_UI_RUNS ?? 3) || 3);

/** Runs the measurement; false when a figure crossed its regression bound or the run itself failed. */
export async function uiBench(): Promise<boolean> {
  console.log(`\n## UI: 300-routine flow in chromium (production build), ~1,000 events/s for 10 s into the debugger; scrubbing a 10,000-event job's timeline; ${RUNS} runs`);
  const root = process.cwd();
  buildIfNeeded(root);
  const chromium = spawnSync(process.execPath, ["--import", "tsx", join(root, "scripts", "ensure-chromium.ts")], { stdio: "inherit" });
  if (chromium.status !== 0) {
    console.log("UI: no chromium, not measured — FAILED");
    return false;
  }
  const work = mkdtempSync(join(tmpdir(), "routilux-ui-bench-"));
  const figuresLog = join(work, "figures.jsonl");
  const timelineLog = join(work, "timeline.jsonl");
  const port = await freePort();
  let child: ChildProcess | null = null;
  const stop = (): void => {
    // Playwright stops its webServer (our server) on SIGINT before it exits.
    child?.kill("SIGINT");
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    // The scrubbing of a 10,000-event job runs in the same pass (reported, not judged).
    const args = ["test", "e2e/performance.spec.ts", "e2e/timeline-performance.spec.ts", `--repeat-each=${RUNS}`, "--retries=0", "--reporter=line", `--output=${join(work, "results")}`];
    child = spawn(join(root, "node_modules", ".bin", "playwright"), args, {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, E2E_PORT: String(port), [UI_FIGURES_LOG_ENV]: figuresLog, [TIMELINE_FIGURES_LOG_ENV]: timelineLog, NEXT_TELEMETRY_DISABLED: "1" },
    });
    const code = await new Promise<number | null>((resolve) => child?.once("exit", (c) => resolve(c)));
    child = null;
    const runs: UiFigures[] = existsSync(figuresLog)
      ? readFileSync(figuresLog, "utf8")
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l) as UiFigures)
      : [];
    const verdict = judgeUiFigures(runs);
    for (const line of verdict.lines) console.log(line);
    const scrubs: TimelineFigures[] = existsSync(timelineLog)
      ? readFileSync(timelineLog, "utf8")
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l) as TimelineFigures)
      : [];
    for (const line of describeTimelineFigures(scrubs)) console.log(line);
    if (code !== 0) console.log(`the measurement run failed (playwright exit ${code}): see its output above — FAILED`);
    return code === 0 && !verdict.failed;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    rmSync(work, { recursive: true, force: true });
  }
}
