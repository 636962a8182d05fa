/**
 * Paused jobs are capped (a further stop is not made, and both the job's trace and /api/health
 * say so) and, when configured, a job left paused with no debug command is cancelled.
 */
import { afterAll, describe, expect, it } from "vitest";
import { api, until as untilWithin } from "../helpers/http";
import { startServer, type TestServer } from "../helpers/server";

const servers: TestServer[] = [];
/** Jobs here wait on each other: a generous bound for each wait. */
const until = <T>(fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => untilWithin(fn, ok, 20_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
});

const start = (s: TestServer, extra: Record<string, unknown> = {}) =>
  api(s, "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_slot: "trigger", entry_params: { data: [1, 2] }, ...extra });
const statusOf = async (s: TestServer, id: string) => (await api(s, "GET", `/api/jobs/${id}`)).json.status as string;

describe("the cap on paused jobs", () => {
  it("stops at most N jobs; the next runs on with a note in its trace, health says why, pause requests get 409", async () => {
    const s = await startServer({ ROUTILUX_MAX_PAUSED_JOBS: "2" });
    servers.push(s);
    expect((await api(s, "POST", "/api/flows/data_processing/breakpoints", { routine_id: "process" })).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const job = await start(s);
      ids.push(job.json.job_id as string);
      await until(() => statusOf(s, job.json.job_id as string), (st) => st === "paused");
    }
    const third = (await start(s)).json.job_id as string;
    await until(() => statusOf(s, third), (st) => st === "completed");
    const trace = (await api(s, "GET", `/api/jobs/${third}/trace`)).json.events as { event_type: string; data: { message?: string; source?: string } }[];
    const note = trace.find((e) => e.event_type === "log" && e.data.source === "debugger");
    expect(note?.data.message).toMatch(/Did not stop .*2 jobs are paused, the most allowed at once \(ROUTILUX_MAX_PAUSED_JOBS=2\)/);
    expect(trace.filter((e) => e.event_type === "routine_start")).toHaveLength(3); // it ran on, all of it

    const health = (await api(s, "GET", "/api/health")).json;
    expect(health.status).toBe("degraded");
    expect((health.reasons as string[]).join("\n")).toMatch(/2 jobs are paused/);
    expect(health.paused_jobs).toMatchObject({ paused: 2, max_paused: 2, idle_expiry_ms: null, refused_stops: 1, expired_jobs: 0 });

    // Asking for more pauses is refused outright, and nothing starts.
    const paused = await start(s, { pause_on_start: true });
    expect(paused.status).toBe(409);
    expect((paused.json.error as { code: string }).code).toBe("PAUSED_JOBS_LIMIT");
    const running = await api(s, "POST", "/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 200, interval_ms: 20 } });
    const pause = await api(s, "POST", `/api/jobs/${running.json.job_id}/debug/pause`);
    expect(pause.status).toBe(409);
    expect((pause.json.error as { code: string }).code).toBe("PAUSED_JOBS_LIMIT");
    await api(s, "POST", `/api/jobs/${running.json.job_id}/cancel`);

    // One continues: there is room again.
    expect((await api(s, "POST", `/api/jobs/${ids[0]}/debug/continue`)).status).toBe(200);
    await until(() => statusOf(s, ids[0] as string), (st) => st === "completed");
    await until(() => api(s, "GET", "/api/health"), (h) => h.json.status === "healthy");
    const fourth = (await start(s)).json.job_id as string;
    await until(() => statusOf(s, fourth), (st) => st === "paused");
  }, 90_000);

  it("a limit out of range stops the start with a message", async () => {
    const failure = await startServer({ ROUTILUX_MAX_PAUSED_JOBS: "0" }).then(
      async (s) => {
        await s.stop();
        return "started";
      },
      (err: Error) => err.message,
    );
    expect(failure).toMatch(/server exited \(1\)/);
    expect(failure).toMatch(/maxPaused must be a whole number ≥ 1/);
  }, 90_000);
});

describe("idle expiry of paused jobs", () => {
  it("cancels a job left paused with no debug command, not one being debugged", async () => {
    const s = await startServer({ ROUTILUX_PAUSED_IDLE_EXPIRY_MS: "4000" });
    servers.push(s);
    const idle = (await start(s, { pause_on_start: true })).json.job_id as string;
    const watched = (await start(s, { pause_on_start: true })).json.job_id as string;
    await until(() => statusOf(s, watched), (st) => st === "paused");
    // Someone is looking at `watched`: every read of its variables counts as activity.
    const looking = (async () => {
      const until = Date.now() + 6_000;
      while (Date.now() < until) {
        expect((await api(s, "GET", `/api/jobs/${watched}/debug/variables`)).status).toBe(200);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const cancelled = await until(() => api(s, "GET", `/api/jobs/${idle}`), (r) => r.json.status === "cancelled");
    expect(cancelled.json.status).toBe("cancelled");
    await looking;
    expect(await statusOf(s, watched)).toBe("paused");
    const trace = (await api(s, "GET", `/api/jobs/${idle}/trace`)).json.events as { event_type: string; data: { cancel_reason?: string } }[];
    expect(trace.at(-1)?.event_type).toBe("job_cancelled");
    expect(trace.at(-1)?.data.cancel_reason).toMatch(/idle expiry/);
    expect((await api(s, "GET", "/api/health")).json.paused_jobs).toMatchObject({ idle_expiry_ms: 4000, expired_jobs: 1, paused: 1 });
    expect((await api(s, "POST", `/api/jobs/${watched}/debug/continue`)).status).toBe(200);
    await until(() => statusOf(s, watched), (st) => st === "completed");
  }, 90_000);
});
