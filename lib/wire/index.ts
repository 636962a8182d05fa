/**
 * The wire contract: every shape that crosses a process boundary (HTTP, both WebSockets,
 * socket.io), defined once with zod. Imported by the library, the server, the browser client and
 * the OpenAPI generator; it imports nothing of the project's.
 */
export * from "./commands";
export * from "./errors";
export * from "./http";
export * from "./ids";
export * from "./job-bundle";
export * from "./model";
export * from "./requests";
export * from "./sockets";
export * from "./timetravel";
