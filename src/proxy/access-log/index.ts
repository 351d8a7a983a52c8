// Access logs (Envoy's access loggers: file, stdout, stderr), decoded with the HCM and tcp_proxy.
//
// Use: a proxy owns one `new AccessLogFiles({ logger })` (closed with the proxy). When an HCM or a
// tcp_proxy is built from its decoded config, call
// `openAccessLoggers(config.accessLogs ?? [], files, logger)` once; at the end of each stream or
// connection call `accessLogger.log(streamInfo, { kind: "http" | "tcp" })` on each of them. The
// formats and filters were compiled when the listener was decoded; log() only evaluates.
export {
  AccessLogFiles,
  type AccessLogFilesOptions,
  type AccessLogSink,
} from "./access-log-files.ts";
export { type AccessLogContext, AccessLogger, openAccessLoggers } from "./access-logger.ts";
export { decodeAccessLogs } from "./decode-access-log.ts";
export { evaluateFilter } from "./evaluate-filter.ts";
export { formatLog } from "./format-log.ts";
export { ENVOY_DEFAULT_FORMAT, parseFormatString } from "./format-string.ts";
export type { AccessLogConfig, AccessLogFilter, LogFormat } from "./types.ts";
