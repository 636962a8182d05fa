import { type CompiledExpression, compileExpression, type ExpressionBudget, ExpressionError } from "../expression";
import { MonitoringError } from "./errors";
import { preview } from "./trace";

type Part = string | CompiledExpression;

/**
 * A logpoint message: text with `{expression}` parts (`{{` and `}}` are literal braces).
 * Expressions are compiled when the breakpoint is created, so a bad one is refused there.
 */
export class LogTemplate {
  private constructor(private readonly parts: Part[]) {}

  /** Has `{expression}` parts (plain text costs nothing to render). */
  get hasExpressions(): boolean {
    return this.parts.some((part) => typeof part !== "string");
  }

  static parse(source: string): LogTemplate {
    const parts: Part[] = [];
    let text = "";
    let i = 0;
    while (i < source.length) {
      const ch = source[i] as string;
      if (ch === "{" && source[i + 1] === "{") {
        text += "{";
        i += 2;
      } else if (ch === "}" && source[i + 1] === "}") {
        text += "}";
        i += 2;
      } else if (ch === "{") {
        const end = findClose(source, i + 1);
        if (end < 0) throw new MonitoringError("bad_request", "INVALID_LOG_MESSAGE", `Unclosed '{' at position ${i} in log message`, { position: i });
        const expr = source.slice(i + 1, end);
        try {
          if (text) parts.push(text);
          text = "";
          parts.push(compileExpression(expr));
        } catch (err) {
          const pos = err instanceof ExpressionError && err.position !== null ? i + 1 + err.position : i;
          throw new MonitoringError("bad_request", "INVALID_LOG_MESSAGE", `Invalid expression in log message at position ${pos}: ${(err as Error).message}`, { position: pos });
        }
        i = end + 1;
      } else if (ch === "}") {
        throw new MonitoringError("bad_request", "INVALID_LOG_MESSAGE", `Unmatched '}' at position ${i} in log message (write '}}' for a literal brace)`, { position: i });
      } else {
        text += ch;
        i++;
      }
    }
    if (text) parts.push(text);
    return new LogTemplate(parts);
  }

  /**
   * Interpolates; a part that fails to evaluate shows as `<error: …>` (a logpoint never fails a
   * job). With a shared `budget`, every part draws on it; once it is used up the rest of the
   * message is not evaluated and ends with `<not evaluated: budget used up>`.
   */
  render(scope: Readonly<Record<string, unknown>>, budget?: ExpressionBudget): string {
    let out = "";
    for (const part of this.parts) {
      if (typeof part === "string") {
        out += part;
        continue;
      }
      if (budget?.exhausted) return `${out}<not evaluated: budget used up>`;
      try {
        const v = part.evaluate(scope, { budget });
        out += typeof v === "string" ? v : JSON.stringify(preview(v, 512)) ?? "undefined";
      } catch (err) {
        out += `<error: ${(err as Error).message}>`;
      }
      if (out.length > 4096) return `${out.slice(0, 4096)}…`;
    }
    return out;
  }
}

/** Index of the `}` closing an expression that starts at `from`, skipping braces in string literals. */
function findClose(s: string, from: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = from; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === "{" || ch === "[" || ch === "(") {
      depth++;
    } else if (ch === "]" || ch === ")") {
      depth--;
    } else if (ch === "}") {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}
