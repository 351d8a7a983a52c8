// config.accesslog.v3.AccessLogFilter → AccessLogFilter, including Istio's CEL extension filter.
// Filters crema cannot evaluate (runtime, metadata, log type) are decode errors, so the proxy
// NACKs instead of logging more or less than asked.
import { compileCelExpression } from "../cel/index.ts";
import { isResponseFlag, type ResponseFlag } from "../http/response-flags.ts";
import type { Fields } from "../routing/decode-reader.ts";
import { decodeHeaderMatcher } from "../routing/header-matcher.ts";
import { typeName } from "./type-name.ts";
import type { AccessLogFilter, ComparisonOp } from "./types.ts";

export const CEL_FILTER_NAME = "envoy.access_loggers.extension_filters.cel";
export const CEL_FILTER_TYPE = "envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter";

const SPECIFIERS = [
  "status_code_filter",
  "duration_filter",
  "not_health_check_filter",
  "traceable_filter",
  "runtime_filter",
  "and_filter",
  "or_filter",
  "header_filter",
  "response_flag_filter",
  "grpc_status_filter",
  "extension_filter",
  "metadata_filter",
  "log_type_filter",
] as const;

const OPS = ["EQ", "GE", "LE"] as const;

const GRPC_STATUSES = [
  "OK",
  "CANCELED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

/** ComparisonFilter: crema has no runtime, so runtime_key is required (as Envoy) but unused. */
function decodeComparison(f: Fields): { op: ComparisonOp; value: number } {
  const comparison = f.object("comparison");
  if (!comparison) {
    f.error("comparison is required", "comparison");
    f.finish();
    return { op: "EQ", value: 0 };
  }
  const op = comparison.enumValue("op", OPS);
  const runtime = comparison.object("value");
  let value = 0;
  if (!runtime) comparison.error("value is required", "value");
  else {
    value = runtime.uint("default_value");
    runtime.string("runtime_key", 1);
    runtime.finish();
  }
  comparison.finish();
  f.finish();
  return { op, value };
}

function decodeList(f: Fields): AccessLogFilter[] {
  const filters = f
    .objects("filters")
    .map(decodeAccessLogFilter)
    .filter((x): x is AccessLogFilter => x !== undefined);
  if (f.list("filters").length < 2) f.error("at least 2 filters are required", "filters");
  f.finish();
  return filters;
}

function decodeResponseFlags(f: Fields): ResponseFlag[] {
  const flags: ResponseFlag[] = [];
  for (const [value, path] of f.list("flags")) {
    if (typeof value === "string" && isResponseFlag(value)) flags.push(value);
    else
      f.ctx.errors.push(`${path}: ${JSON.stringify(value)} is not a response flag (UH, UF, NR …)`);
  }
  f.finish();
  return flags;
}

function decodeGrpcStatuses(f: Fields): { statuses: number[]; exclude: boolean } {
  const statuses: number[] = [];
  for (const [value, path] of f.list("statuses")) {
    const index = typeof value === "number" ? value : GRPC_STATUSES.indexOf(String(value));
    if (Number.isInteger(index) && index >= 0 && index < GRPC_STATUSES.length) statuses.push(index);
    else f.ctx.errors.push(`${path}: expected one of ${GRPC_STATUSES.join(", ")}`);
  }
  const exclude = f.bool("exclude");
  f.finish();
  return { statuses, exclude };
}

function decodeExtensionFilter(f: Fields): AccessLogFilter | undefined {
  const name = f.string("name");
  const typed = f.object("typed_config");
  f.finish();
  const url = typed?.string("@type", 1) ?? "";
  if (!typed || typeName(url) !== CEL_FILTER_TYPE) {
    f.error(
      `unsupported access log extension filter ${JSON.stringify(name)}${url ? ` (${url})` : ""}; only ${CEL_FILTER_NAME} (${CEL_FILTER_TYPE}) is supported`,
    );
    return undefined;
  }
  const expression = typed.string("expression");
  typed.finish();
  const compiled = compileCelExpression(expression);
  if (!compiled.ok) {
    typed.error(`CEL expression ${JSON.stringify(expression)}: ${compiled.error}`, "expression");
    return undefined;
  }
  return { kind: "cel", program: compiled.program };
}

/** One AccessLogFilter; undefined when invalid (errors recorded with their paths). */
export function decodeAccessLogFilter(f: Fields): AccessLogFilter | undefined {
  const which = f.oneof(SPECIFIERS);
  const errors = f.ctx.errors.length;
  let out: AccessLogFilter | undefined;
  const sub = which ? f.object(which) : undefined;
  f.finish();
  if (!which) {
    f.error(`one of ${SPECIFIERS.join(", ")} is required`);
    return undefined;
  }
  if (!sub) return undefined;
  switch (which) {
    case "status_code_filter":
      out = { kind: "status_code", ...decodeComparison(sub) };
      break;
    case "duration_filter":
      out = { kind: "duration", ...decodeComparison(sub) };
      break;
    case "not_health_check_filter":
      sub.finish();
      out = { kind: "not_health_check" };
      break;
    case "traceable_filter":
      sub.finish();
      out = { kind: "traceable" };
      break;
    case "and_filter":
    case "or_filter":
      out = { kind: which === "and_filter" ? "and" : "or", filters: decodeList(sub) };
      break;
    case "header_filter": {
      const header = sub.object("header");
      if (!header) sub.error("header is required", "header");
      sub.finish();
      const matcher = header ? decodeHeaderMatcher(header) : undefined;
      if (matcher) out = { kind: "header", header: matcher };
      break;
    }
    case "response_flag_filter":
      out = { kind: "response_flag", flags: decodeResponseFlags(sub) };
      break;
    case "grpc_status_filter":
      out = { kind: "grpc_status", ...decodeGrpcStatuses(sub) };
      break;
    case "extension_filter":
      out = decodeExtensionFilter(sub);
      break;
    case "runtime_filter":
    case "metadata_filter":
    case "log_type_filter":
      f.error(
        `${which} is not supported by crema's proxy; use a CEL extension_filter or remove it`,
        which,
      );
      break;
  }
  return f.ctx.errors.length === errors ? out : undefined;
}
