/**
 * `routilux dev` in the browser: after an edit of the project's code the flow view says "flow
 * reloaded" and draws the new graph without a page reload, the job view says so too, and a file
 * that does not load shows its error (also to a page opened afterwards) until a fix reloads.
 * The dev process is this test's own (on a free port), not Playwright's webServer (the demo server).
 */
import { expect, test } from "@playwright/test";
import { DevProcess, freePort, makeProject, removeProjects, writeFiles } from "../tests/helpers/cli";

const greet = (greeting: string) => `import { type ActivationContext, type Payload, Routine } from "routilux";

export class Greet extends Routine {
  constructor() {
    super();
    this.addSlot("trigger", { handler: this.greet });
    this.defineEvent("greeted", ["message"]);
  }
  greet({ name }: Payload, ctx: ActivationContext): void {
    ctx.emit("greeted", { message: \`${greeting}, \${String(name)}!\` });
  }
}
`;

/** The hello flow: greet → remember, and `extra` routines after remember. */
const config = (extra: string[] = []) => `import { defineConfig, Flow, routineRegistry } from "routilux";
import { Greet } from "./routines/greet";

const flow = new Flow("hello", { example: { entryRoutineId: "greet", params: { name: "Ada" } } });
flow.addRoutine(new Greet(), "greet");
flow.addRoutine(routineRegistry.create("passthrough"), "remember");
flow.connect("greet", "greeted", "remember", "input");
for (const id of ${JSON.stringify(extra)}) {
  flow.addRoutine(routineRegistry.create("passthrough"), id);
  flow.connect("remember", "output", id, "input");
}
export default defineConfig({ flows: [flow] });
`;

/** A reload is a file event, a debounce, an import and a socket message: on a busy machine that may take seconds. */
const reload = expect.configure({ timeout: 20_000 });

const port = await freePort();
test.use({ baseURL: `http://localhost:${port}` });

let project: string;
let dev: DevProcess;

test.beforeAll(async () => {
  project = makeProject({ "routines/greet.ts": greet("Hello"), "routilux.config.ts": config() });
  dev = await DevProcess.start(project, ["--no-history"], { port });
});
test.afterAll(async () => {
  await dev?.stop();
  removeProjects();
});

test("the flow view says the flow reloaded and draws the new graph; a syntax error shows until it is fixed", async ({ page }) => {
  await page.goto("/flows/hello");
  await expect(page.locator('.react-flow__node[data-id="greet"]')).toBeVisible();
  await expect(page.getByTestId("flow-reloaded")).toHaveCount(0);

  writeFiles(project, { "routines/greet.ts": greet("Howdy") });
  await reload(page.getByTestId("flow-reloaded")).toBeVisible();
  await reload(page.getByTestId("flow-reloaded")).toHaveAttribute("data-version", "2");

  // A routine added by the edit appears without reloading the page.
  writeFiles(project, { "routilux.config.ts": config(["shout"]) });
  await reload(page.locator('.react-flow__node[data-id="shout"]')).toBeVisible();
  await reload(page.getByTestId("flow-reloaded")).toHaveAttribute("data-version", "3");

  writeFiles(project, { "routines/greet.ts": greet("Broken").replace("ctx.emit(", "ctx.emit((") });
  const error = page.getByTestId("flow-reload-error");
  await reload(error).toBeVisible();
  await expect(error).toContainText(/routines\/greet\.ts:\d+:\d+/);
  await expect(page.getByTestId("flow-reloaded")).toHaveCount(0);
  // The last good version is still what the page shows.
  await expect(page.locator('.react-flow__node[data-id="shout"]')).toBeVisible();

  // A page opened now learns about the failed reload from the server.
  await page.reload();
  await expect(page.getByTestId("flow-reload-error")).toContainText(/routines\/greet\.ts:\d+:\d+/);

  writeFiles(project, { "routines/greet.ts": greet("Hi") });
  await reload(page.getByTestId("flow-reloaded")).toHaveAttribute("data-version", "4");
  await expect(page.getByTestId("flow-reload-error")).toHaveCount(0);
});

test("the job view says the flow reloaded, and that the job keeps its code", async ({ page, request }) => {
  const res = await request.post("/api/jobs", { data: { flow_id: "hello", entry_routine_id: "greet", entry_params: { name: "Bo" }, pause_on_start: true } });
  expect(res.status()).toBe(201);
  const { job_id } = (await res.json()) as { job_id: string };
  await page.goto(`/jobs/${job_id}`);
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "paused");
  await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "connected");

  writeFiles(project, { "routines/greet.ts": greet("Hey") });
  const notice = page.getByTestId("flow-reloaded");
  await reload(notice).toBeVisible();
  await expect(notice).toContainText("keeps the code it started with");

  writeFiles(project, { "routines/greet.ts": "export class Greet {" });
  await reload(page.getByTestId("flow-reload-error")).toContainText("routines/greet.ts");
  writeFiles(project, { "routines/greet.ts": greet("Hey") });
  await reload(page.getByTestId("flow-reload-error")).toHaveCount(0);

  // The held job finishes on the code it started with.
  await page.getByTestId("debug-continue").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  const io = (await (await request.get(`/api/jobs/${job_id}/io?routine_id=greet&kind=output`)).json()) as { rows: { payload: unknown }[] };
  expect(io.rows.map((r) => r.payload)).toEqual([{ message: "Hi, Bo!" }]);
});
