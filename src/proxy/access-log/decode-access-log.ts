// An HCM's or tcp_proxy's `access_log` list (config.accesslog.v3.AccessLog) → AccessLogConfig[]:
// the file, stdout and stderr loggers with their formats and filters. Any other logger is a
// decode error, so the proxy NACKs as Envoy does for an extension it does not have.
import type { Fields } from "../routing/decode-reader.ts";
import { decodeAccessLogFilter } from "./decode-access-log-filter.ts";
import {
  compileFormatParts,
  compileJsonFormat,
  decodeSubstitutionFormat,
  defaultLogFormat,
} from "./decode-log-format.ts";
import { typeName } from "./type-name.ts";
import type { AccessLogConfig, LogFormat } from "./types.ts";

export const FILE_ACCESS_LOG_TYPE = "envoy.extensions.access_loggers.file.v3.FileAccessLog";
export const STDOUT_ACCESS_LOG_TYPE = "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";
export const STDERR_ACCESS_LOG_TYPE = "envoy.extensions.access_loggers.stream.v3.StderrAccessLog";

const FILE_FORMATS = ["format", "json_format", "typed_json_format", "log_format"] as const;

function decodeFileAccessLog(f: Fields): { path: string; format: LogFormat } {
  const path = f.string("path", 1);
  const which = f.oneof(FILE_FORMATS);
  let format = defaultLogFormat();
  if (which === "format") {
    // An empty legacy format means Envoy's default.
    const text = f.string("format");
    if (text)
      format = {
        kind: "text",
        parts: compileFormatParts(text, f.ctx.errors, f.at("format")),
        omitEmptyValues: false,
      };
  } else if (which === "json_format" || which === "typed_json_format") {
    // The legacy json_format renders every value as a string; typed_json_format keeps types.
    format = compileJsonFormat(f, which, {
      typed: which === "typed_json_format",
      omitEmptyValues: false,
    });
  } else if (which === "log_format") {
    const sub = f.object("log_format");
    if (sub) format = decodeSubstitutionFormat(sub);
  }
  f.skip(...FILE_FORMATS); // the other members of a reported oneof conflict
  f.finish();
  return { path, format };
}

function decodeStreamAccessLog(f: Fields): LogFormat {
  const sub = f.object("log_format");
  f.finish();
  return sub ? decodeSubstitutionFormat(sub) : defaultLogFormat();
}

function decodeAccessLog(f: Fields): AccessLogConfig | undefined {
  const errors = f.ctx.errors.length;
  const name = f.string("name");
  const filterFields = f.object("filter");
  const filter = filterFields ? decodeAccessLogFilter(filterFields) : undefined;
  const typed = f.object("typed_config");
  f.finish();
  if (!typed) {
    f.error("typed_config is required (e.g. a FileAccessLog)", "typed_config");
    return undefined;
  }
  const url = typed.string("@type", 1);
  const type = typeName(url);
  let logger: { path: string; format: LogFormat } | undefined;
  if (type === FILE_ACCESS_LOG_TYPE) logger = decodeFileAccessLog(typed);
  else if (type === STDOUT_ACCESS_LOG_TYPE)
    logger = { path: "/dev/stdout", format: decodeStreamAccessLog(typed) };
  else if (type === STDERR_ACCESS_LOG_TYPE)
    logger = { path: "/dev/stderr", format: decodeStreamAccessLog(typed) };
  else {
    f.error(
      `unsupported access logger ${JSON.stringify(name)} (${url}); crema's proxy has envoy.access_loggers.file, envoy.access_loggers.stdout and envoy.access_loggers.stderr`,
      "typed_config",
    );
    return undefined;
  }
  if (f.ctx.errors.length !== errors) return undefined;
  return { name, path: logger.path, format: logger.format, filter };
}

/** The `access_log` field of `f` (HttpConnectionManager or TcpProxy); [] when absent. */
export function decodeAccessLogs(f: Fields, field = "access_log"): AccessLogConfig[] {
  const out: AccessLogConfig[] = [];
  for (const item of f.objects(field)) {
    const config = decodeAccessLog(item);
    if (config) out.push(config);
  }
  return out;
}
