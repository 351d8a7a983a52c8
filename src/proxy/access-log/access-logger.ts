// One configured access log at run time: evaluates its filter over a finished stream's StreamInfo
// and, when it passes, writes one formatted line to its file. Called at the end of every stream,
// so it does no parsing and never throws into the request path.
import type { Logger } from "../../base/logger.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import type { AccessLogFiles, AccessLogSink } from "./access-log-files.ts";
import { evaluateFilter } from "./evaluate-filter.ts";
import { formatLog } from "./format-log.ts";
import type { AccessLogConfig } from "./types.ts";

/** What ended: an HTTP stream (HCM) or a TCP connection (tcp_proxy). */
export interface AccessLogContext {
  kind: "http" | "tcp";
}

export class AccessLogger {
  readonly config: AccessLogConfig;
  private readonly sink: AccessLogSink;
  private readonly logger: Logger;
  private reportedFailure = false;

  constructor(config: AccessLogConfig, sink: AccessLogSink, logger: Logger) {
    this.config = config;
    this.sink = sink;
    this.logger = logger;
  }

  /** Logs `info` if the filter passes. The same operators serve HTTP and TCP (`-` where unset). */
  log(info: StreamInfo, _context: AccessLogContext): void {
    try {
      const { filter, format } = this.config;
      if (filter && !evaluateFilter(filter, info)) return;
      this.sink.write(formatLog(format, info));
    } catch (error) {
      if (this.reportedFailure) return;
      this.reportedFailure = true;
      this.logger.error(
        { path: this.config.path, error: (error as Error).message },
        "access log line could not be formatted",
      );
    }
  }
}

/** Loggers for one HCM's or tcp_proxy's decoded `accessLogs`, writing through the shared files. */
export function openAccessLoggers(
  configs: readonly AccessLogConfig[],
  files: AccessLogFiles,
  logger: Logger,
): AccessLogger[] {
  return configs.map((config) => new AccessLogger(config, files.sink(config.path), logger));
}
