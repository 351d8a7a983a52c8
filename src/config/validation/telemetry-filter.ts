// Syntax check for the CEL expressions in a Telemetry (access log filters, metric tag overrides):
// Istio rejects what cel-go cannot parse. Only the syntax: which attributes exist is the proxy's
// business, so no names are checked here.
import { ParseError, parse } from "@marcbachmann/cel-js";
import { firstRegexCall, regexCallProblem } from "../../base/cel-regex-calls.ts";

/** Reason a CEL expression cannot parse, or undefined when it parses. */
export function celSyntaxProblem(expression: string): string | undefined {
  if (expression.trim() === "") return "the expression is empty";
  try {
    const regex = firstRegexCall(parse(expression).ast);
    return regex === undefined ? undefined : regexCallProblem(regex);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    const at = error.range ? ` at character ${error.range.start + 1}` : "";
    return `${error.summary}${at}`;
  }
}
