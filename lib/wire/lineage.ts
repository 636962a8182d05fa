/**
 * A forked job's lineage. In its own module (re-exported by timetravel.ts) so model.ts can use it
 * without an import cycle: timetravel.ts builds on model.ts's schemas at load time.
 */
import { z } from "zod";

/** Where a forked job came from: the job and the seq of the activation's `routine_start` it re-runs. */
export const ForkedFromSchema = z.strictObject({
  job_id: z.string(),
  seq: z.number().int().min(1),
});
export type ForkedFrom = z.infer<typeof ForkedFromSchema>;
