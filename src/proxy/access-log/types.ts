// The decoded shape of Envoy's access log config (config.accesslog.v3.AccessLog and the
// file/stdout/stderr loggers): compiled formats and filters, plain data the loggers evaluate.
import type { CelProgram } from "../cel/index.ts";
import type { ResponseFlag } from "../http/response-flags.ts";
import type { HeaderMatch } from "../routing/types.ts";

/** A request, response or trailer header lookup: `%REQ(X?Y):Z%`. */
export interface HeaderOperator {
  kind: "header";
  source: "request" | "response" | "trailer";
  /** Lower-cased; `:path` and friends included. */
  main: string;
  alternative: string | undefined;
}

/** A StreamInfo command operator with no header argument. */
export interface FieldOperator {
  kind: "field";
  /** The operator name as written (`RESPONSE_CODE`), aliases resolved. */
  name: string;
}

export interface StartTimeOperator {
  kind: "start_time";
  /** The strftime format; undefined for Envoy's default ISO 8601 rendering. */
  format: string | undefined;
}

export interface GrpcStatusOperator {
  kind: "grpc_status";
  style: "CAMEL_STRING" | "SNAKE_STRING" | "NUMBER";
}

export type CommandOperator =
  | HeaderOperator
  | FieldOperator
  | StartTimeOperator
  | GrpcStatusOperator;

/** One compiled piece of a format string. */
export type FormatPart =
  | { kind: "text"; text: string }
  | { kind: "operator"; operator: CommandOperator; maxLength: number | undefined };

/** A JSON format's value tree: format strings at the leaves, constants kept as given. */
export type JsonFormatNode =
  | { kind: "format"; parts: readonly FormatPart[] }
  | { kind: "constant"; value: number | boolean | null }
  | { kind: "object"; entries: readonly (readonly [string, JsonFormatNode])[] }
  | { kind: "list"; items: readonly JsonFormatNode[] };

/** SubstitutionFormatString (or the file logger's legacy format fields), compiled once. */
export type LogFormat =
  | { kind: "text"; parts: readonly FormatPart[]; omitEmptyValues: boolean }
  | {
      kind: "json";
      root: JsonFormatNode;
      /** Numbers and null for lone operators (log_format.json_format, typed_json_format). */
      typed: boolean;
      omitEmptyValues: boolean;
    };

export type ComparisonOp = "EQ" | "GE" | "LE";

/** config.accesslog.v3.AccessLogFilter. */
export type AccessLogFilter =
  | { kind: "status_code"; op: ComparisonOp; value: number }
  | { kind: "duration"; op: ComparisonOp; value: number }
  | { kind: "not_health_check" }
  | { kind: "traceable" }
  | { kind: "response_flag"; flags: readonly ResponseFlag[] }
  | { kind: "header"; header: HeaderMatch }
  | { kind: "grpc_status"; statuses: readonly number[]; exclude: boolean }
  | { kind: "and" | "or"; filters: readonly AccessLogFilter[] }
  | { kind: "cel"; program: CelProgram };

/** Where a logger writes: a file path; stdout and stderr are `/dev/stdout` and `/dev/stderr`. */
export interface AccessLogConfig {
  /** The AccessLog's `name` (e.g. `envoy.access_loggers.file`). */
  name: string;
  path: string;
  format: LogFormat;
  filter: AccessLogFilter | undefined;
}
