import { z } from "zod";
import type { RouteDef } from "./router";

/** OpenAPI 3.1 generated from the route table and its zod schemas (never kept by hand). */
export function openApiDocument(routes: RouteDef[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorRef = { $ref: "#/components/schemas/Error" };
  for (const def of routes) {
    for (const path of [def.path, ...(def.aliases ?? [])]) {
      const oaPath = path.replace(/:([a-z_]+)/g, "{$1}");
      const params = [...path.matchAll(/:([a-z_]+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9_.:-]{1,128}$" } }));
      const queryParams = def.query ? Object.entries((z.toJSONSchema(def.query, { io: "input", unrepresentable: "any" }) as { properties?: Record<string, unknown> }).properties ?? {}).map(([name, schema]) => ({ name, in: "query", required: false, schema })) : [];
      const op: Record<string, unknown> = {
        operationId: `${def.method.toLowerCase()}${oaPath.replace(/[^A-Za-z0-9]+/g, "_")}`,
        summary: def.summary + (path === def.path ? "" : ` (alias of ${def.path})`),
        tags: [def.tag],
        parameters: [...params, ...queryParams],
        responses: {
          [String(def.status ?? (def.method === "DELETE" ? 204 : 200))]: { description: "Success" },
          "400": { description: "Bad input", content: { "application/json": { schema: errorRef } } },
          "401": { description: "Missing API key" },
          "403": { description: "Invalid API key" },
          "404": { description: "Unknown flow, job, routine or breakpoint", content: { "application/json": { schema: errorRef } } },
          "409": { description: "Conflict (duplicate, or the job is not paused)", content: { "application/json": { schema: errorRef } } },
          "413": { description: "Body over 1 MB" },
        },
      };
      if (def.path === "/api/health") op.security = [];
      if (def.body) op.requestBody = { required: true, content: { "application/json": { schema: z.toJSONSchema(def.body, { io: "input", unrepresentable: "any" }) } } };
      paths[oaPath] ??= {};
      (paths[oaPath] as Record<string, unknown>)[def.method.toLowerCase()] = op;
    }
  }
  paths["/api/openapi.json"] = { get: { operationId: "getOpenApi", summary: "This document", tags: ["meta"], security: [], responses: { "200": { description: "OpenAPI 3.1" } } } };
  return {
    openapi: "3.1.0",
    info: { title: "Routilux API", version: "0.1.0", description: "Flows, jobs, monitoring and interactive debugging." },
    paths,
    components: {
      schemas: { Error: { type: "object", required: ["error"], properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" }, details: {} } } } } },
      securitySchemes: { apiKey: { type: "apiKey", in: "header", name: "X-API-Key" }, bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ apiKey: [] }, { bearer: [] }],
  };
}
