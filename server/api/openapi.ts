import { z } from "zod";
import { API, ErrorBodySchema, ID_PATTERN, type RouteSpec } from "../../lib/wire";

const json = (schema: z.ZodType, io: "input" | "output") => z.toJSONSchema(schema, { io, unrepresentable: "any" });

/** OpenAPI 3.1 generated from the HTTP contract and its zod schemas (never kept by hand). */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorRef = { $ref: "#/components/schemas/Error" };
  const errorContent = { "application/json": { schema: errorRef } };
  for (const spec of Object.values(API) as RouteSpec[]) {
    for (const path of [spec.path, ...(spec.aliases ?? [])]) {
      const oaPath = path.replace(/:([a-z_]+)/g, "{$1}");
      const params = [...path.matchAll(/:([a-z_]+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string", pattern: ID_PATTERN.source } }));
      const queryParams = spec.query
        ? Object.entries((json(spec.query, "input") as { properties?: Record<string, unknown> }).properties ?? {}).map(([name, schema]) => ({ name, in: "query", required: false, schema }))
        : [];
      const success = String(spec.status ?? (spec.response === null ? 204 : 200));
      const op: Record<string, unknown> = {
        operationId: `${spec.method.toLowerCase()}${oaPath.replace(/[^A-Za-z0-9]+/g, "_")}`,
        summary: spec.summary + (path === spec.path ? "" : ` (alias of ${spec.path})`),
        tags: [spec.tag],
        parameters: [...params, ...queryParams],
        responses: {
          [success]: spec.response === null ? { description: "Done" } : { description: "Success", content: { "application/json": { schema: json(spec.response, "output") } } },
          "400": { description: "Bad input", content: errorContent },
          "401": { description: "Missing API key", content: errorContent },
          "403": { description: "Invalid API key", content: errorContent },
          "404": { description: "Unknown flow, job, routine or breakpoint", content: errorContent },
          "409": { description: "Conflict (duplicate; the job is not paused; STALE_STOP: the job is no longer at the stop_number given)", content: errorContent },
          "413": { description: "Body over 1 MB", content: errorContent },
          "503": { description: "History cannot be written now (HISTORY_UNAVAILABLE): nothing was changed; retry when /api/health is healthy", content: errorContent },
        },
      };
      if (spec.public) op.security = [];
      // A missing body is read as `{}`: optional wherever `{}` is valid (continue and the steps without stop_number).
      if (spec.body) op.requestBody = { required: !spec.body.safeParse({}).success, content: { "application/json": { schema: json(spec.body, "input") } } };
      paths[oaPath] ??= {};
      (paths[oaPath] as Record<string, unknown>)[spec.method.toLowerCase()] = op;
    }
  }
  return {
    openapi: "3.1.0",
    info: { title: "Routilux API", version: "0.1.0", description: "Flows, jobs, monitoring and interactive debugging." },
    paths,
    components: {
      schemas: { Error: json(ErrorBodySchema, "output") },
      securitySchemes: { apiKey: { type: "apiKey", in: "header", name: "X-API-Key" }, bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ apiKey: [] }, { bearer: [] }],
  };
}
