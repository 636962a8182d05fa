/**
 * One error family for the library, the server and the client. Errors are recognised by a brand
 * (a registered symbol), not by class identity or a name string: a bundler may load a second
 * copy of a module, and `instanceof` against the other copy's class would fail. Every class
 * carries its own brand too, so `err instanceof DslError` works across copies.
 */
import { z } from "zod";

/** What the caller did wrong (or not): it decides the HTTP status, once, here. */
export type ErrorKind =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "too_large"
  | "unavailable"
  | "internal";

export const STATUS_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  too_large: 413,
  unavailable: 503,
  internal: 500,
};

const FAMILY = Symbol.for("routilux.error");

type Marks = { readonly [key: symbol]: unknown };

/**
 * Gives a class of the family its own brand, so `instanceof` checks the brand, not the class
 * object. A subclass that is not branded itself falls back to the ordinary prototype check.
 */
export function branded<C extends abstract new (...args: never[]) => Error>(name: string, cls: C): C {
  const brand = name === "RoutiluxError" ? FAMILY : Symbol.for(`routilux.error.${name}`);
  Object.defineProperty(cls.prototype, brand, { value: true });
  Object.defineProperty(cls.prototype, "name", { value: name, writable: true, configurable: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: unknown, x: unknown): boolean {
      // Inherited by an unbranded subclass: `this` is that subclass.
      if (this !== cls) return Function.prototype[Symbol.hasInstance].call(this, x);
      return typeof x === "object" && x !== null && (x as Marks)[brand] === true;
    },
  });
  return cls;
}

export interface ErrorOptions {
  kind?: ErrorKind;
  details?: unknown;
  cause?: unknown;
}

export class RoutiluxError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: unknown;

  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = options.kind ?? "internal";
    this.details = options.details;
  }

  /** The HTTP status this error answers with. */
  get status(): number {
    return STATUS_OF_KIND[this.kind];
  }
}
branded("RoutiluxError", RoutiluxError);

/** True for any error of the family, whichever copy of the module made it. */
export function isRoutiluxError(x: unknown): x is RoutiluxError {
  return typeof x === "object" && x !== null && (x as Marks)[FAMILY] === true;
}

/** An error answer as it travels: `{error: {code, message, details?}}`. */
export const ErrorBodySchema = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** The first problem of a failed validation, as one readable line. */
export function formatZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid input";
  const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
  if (issue.code === "unrecognized_keys") return `${where}unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(", ")}`;
  return `${where}${issue.message}`;
}
