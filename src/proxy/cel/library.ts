// The CEL library (@marcbachmann/cel-js), loaded with the first expression a proxy compiles: its
// modules and standard library cost every proxy a few percent of its start-up, and most proxies
// are never sent an expression. Node loads the ES module synchronously (require of ESM), as
// config decoding, which compiles expressions, is synchronous.
import { createRequire } from "node:module";

type Cel = typeof import("@marcbachmann/cel-js");
type CelEvaluator = typeof import("@marcbachmann/cel-js/evaluator");

const load = createRequire(import.meta.url);
let cel: Cel | undefined;
let evaluator: CelEvaluator | undefined;

export function celLibrary(): Cel {
  cel ??= load("@marcbachmann/cel-js") as Cel;
  return cel;
}

/** The evaluator's value classes (Duration, UnsignedInt). */
export function celValues(): CelEvaluator {
  evaluator ??= load("@marcbachmann/cel-js/evaluator") as CelEvaluator;
  return evaluator;
}

/** Whether this module instance has loaded the library (lets tests prove a proxy did not). */
export function celLoaded(): boolean {
  return cel !== undefined || evaluator !== undefined;
}
