// CEL (Common Expression Language) over a stream's Envoy attributes, for access log filters and
// Istio's metric tag overrides.
//
// Use: compile when the config is decoded, `compileCelExpression("response.code >= 400")`, and
// turn `{ ok: false, error }` into a decode error. Per stream, `celMatches(program, info)` for a
// filter or `celString(program, info)` for a label value; neither throws on CEL errors.
export { type CelCompileResult, type CelProgram, compileCelExpression } from "./compile.ts";
export { celMatches, celString } from "./evaluate.ts";
