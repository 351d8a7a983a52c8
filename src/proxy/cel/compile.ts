// Compiles a CEL expression once (when the xDS resource holding it is decoded) into a program that
// evaluates against a finished stream's StreamInfo. Parsing, checking and evaluation are the
// @marcbachmann/cel-js library's; this file adds Envoy's attribute names and readable errors.
import type {
  ASTNode,
  TypeError as CelTypeError,
  ParseError,
  ParseResult,
} from "@marcbachmann/cel-js";
import { firstRegexCall, regexCallProblem } from "../../base/cel-regex-calls.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import { StreamAttributes } from "./attributes.ts";
import { celEnvironment, supportedAttributes } from "./environment.ts";
import { celLibrary } from "./library.ts";

export interface CelProgram {
  /** The expression as written. */
  readonly expression: string;
  /** The expression's value for one stream; throws the library's EvaluationError when CEL errors. */
  readonly evaluate: (info: StreamInfo) => unknown;
}

export type CelCompileResult = { ok: true; program: CelProgram } | { ok: false; error: string };

/** The field name of a `.field` selection, or of a `['field']` index with a literal key. */
function fieldName(key: string | ASTNode): string | undefined {
  if (typeof key === "string") return key;
  return key.op === "value" && typeof key.args === "string" ? key.args : undefined;
}

/** `request.nope` for an unknown field of a known group, `nope` for an unknown top-level name. */
function unknownAttributeName(node: ASTNode | undefined): string | undefined {
  if (node?.op === "id") return node.args;
  if (node?.op !== "." && node?.op !== "[]") return undefined;
  const [target, key] = node.args;
  const field = fieldName(key);
  if (field === undefined) return undefined;
  return target.op === "id" ? `${target.args}.${field}` : field;
}

function describe(error: ParseError | CelTypeError): string {
  const at = error.range ? ` at character ${error.range.start + 1}` : "";
  if (error.code === "no_such_key" || error.code === "unknown_variable") {
    const name = unknownAttributeName(
      error instanceof celLibrary().TypeError ? error.node : undefined,
    );
    if (name !== undefined) {
      return `attribute ${name}${at} is not supported (supported: ${supportedAttributes()})`;
    }
  }
  return `${error.summary}${at}`;
}

function isCompileError(error: unknown): error is ParseError | CelTypeError {
  const cel = celLibrary();
  return error instanceof cel.ParseError || error instanceof cel.TypeError;
}

function parseExpression(
  expression: string,
): { ok: true; run: ParseResult } | { ok: false; error: string } {
  try {
    return { ok: true, run: celEnvironment().parse(expression) };
  } catch (error) {
    if (isCompileError(error)) return { ok: false, error: describe(error) };
    throw error;
  }
}

/** Parses and type-checks `expression`; the error says what is wrong and where. */
export function compileCelExpression(expression: string): CelCompileResult {
  if (expression.trim() === "") return { ok: false, error: "the expression is empty" };
  const parsed = parseExpression(expression);
  if (!parsed.ok) return parsed;
  const { run } = parsed;
  const regex = firstRegexCall(run.ast);
  if (regex !== undefined) return { ok: false, error: regexCallProblem(regex) };
  // Checking also stores the types on the tree, which spares every evaluation a check of its own.
  const checked = run.check();
  if (!checked.valid) {
    const error = checked.error;
    return { ok: false, error: error ? describe(error) : "the expression does not type-check" };
  }
  return {
    ok: true,
    program: { expression, evaluate: (info) => run(new StreamAttributes(info)) },
  };
}
