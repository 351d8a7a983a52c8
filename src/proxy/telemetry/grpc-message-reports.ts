// Istio's stats filter does not wait for a gRPC stream to end before counting its messages: each
// filter arms a timer for every gRPC stream and, every tcp_reporting_duration once the peer is
// known, adds what the grpc_stats filter counted since its last report; the end of the stream adds
// the rest. A long bidirectional stream thus shows on dashboards while it runs. One of these per
// gRPC stream of a chain that counts messages, with one report (and timer) per stats filter.
import type { StreamInfo } from "../http/stream-info.ts";
import type {
  HttpStreamTelemetry,
  MessagesReported,
  ProxyTelemetry,
  StatsFilter,
} from "./proxy-telemetry.ts";

export class GrpcMessageReports {
  /** Per stats filter, in the chain's order: what it has added so far. */
  readonly reported: readonly MessagesReported[];
  private readonly timers: NodeJS.Timeout[] = [];

  /**
   * `current` gives the stream's telemetry while its peer is known, else undefined (Istio's
   * filter reports nothing before it has read the peer); `authority` is the request's.
   */
  constructor(
    telemetry: ProxyTelemetry,
    filters: readonly StatsFilter[],
    info: StreamInfo,
    authority: string,
    current: () => HttpStreamTelemetry | undefined,
  ) {
    const reported = filters.map((): MessagesReported => ({ request: 0, response: 0 }));
    this.reported = reported;
    filters.forEach((filter, i) => {
      const interval = filter.config.tcpReportingDurationMs;
      if (interval <= 0) return;
      const timer = setInterval(() => {
        if (info.grpcStats === undefined) return;
        const stream = current();
        if (stream) telemetry.reportMessages(info, stream, filter, reported[i]!, authority);
      }, interval);
      timer.unref();
      this.timers.push(timer);
    });
  }

  /** The stream is over: the final record adds what is left. */
  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
  }
}
