// Running a compiled CEL program over one stream, with Envoy's treatment of errors: a missing
// attribute or header, a type mismatch, a division by zero … make the expression erroneous,
// which an access log filter reads as "do not log" and Istio's metrics as no label value.
import type { StreamInfo } from "../http/stream-info.ts";
import type { CelProgram } from "./compile.ts";
import { celLibrary } from "./library.ts";
import { celValueText } from "./value-text.ts";

const ERRONEOUS = Symbol("erroneous CEL expression");

/** The program's value, or ERRONEOUS when CEL reports an error; other throws are crema's bugs. */
function evaluate(program: CelProgram, info: StreamInfo): unknown {
  // CEL errors are routine (a request without the header the expression reads) and the library
  // throws them; capturing their stack traces, which nobody reads, cost more than half of the
  // ~12 µs such an evaluation took. Evaluation is synchronous, so the limit is back before
  // anything else runs.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return program.evaluate(info);
  } catch (error) {
    const cel = celLibrary();
    if (error instanceof cel.EvaluationError || error instanceof cel.TypeError) return ERRONEOUS;
    throw error;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** True only when the expression evaluates to boolean true (Envoy's CEL access log filter). */
export function celMatches(program: CelProgram, info: StreamInfo): boolean {
  return evaluate(program, info) === true;
}

/** The expression's value as a metric label value; undefined when it errors or has no text. */
export function celString(program: CelProgram, info: StreamInfo): string | undefined {
  const value = evaluate(program, info);
  return value === ERRONEOUS ? undefined : celValueText(value);
}
