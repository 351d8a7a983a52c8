// Connection pool settings of Sidecar ingress listeners (`inboundConnectionPool`,
// `ingress[].connectionPool`), checked as Istio's validateConnectionPool does: at least one of
// http/tcp, non-negative limits, durations of at least 1ms.
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { isObj } from "./rules.ts";
import { checkIstioDuration, checkNonNegative } from "./virtual-service-common.ts";

const HTTP_LIMITS = [
  "http1MaxPendingRequests",
  "http2MaxRequests",
  "maxRequestsPerConnection",
  "maxRetries",
  "maxConcurrentStreams",
] as const;

export function checkConnectionPool(ctx: ValidationContext, path: FieldPath, pool: unknown): void {
  if (!isObj(pool)) return;
  const { http, tcp } = pool;
  if (!isObj(http) && !isObj(tcp)) {
    ctx.error(
      path,
      "CREMA_VALIDATION_REQUIRED",
      "the connection pool is empty; set http or tcp limits, or remove it",
    );
    return;
  }
  if (isObj(http)) {
    const at = [...path, "http"];
    for (const field of HTTP_LIMITS) checkNonNegative(ctx, [...at, field], http[field], field);
    checkIstioDuration(ctx, [...at, "idleTimeout"], http.idleTimeout);
    if (http.h2UpgradePolicy === "UPGRADE" && http.useClientProtocol === true) {
      ctx.error(
        [...at, "useClientProtocol"],
        "CREMA_VALIDATION_EXCLUSIVE",
        "useClientProtocol cannot be true when h2UpgradePolicy is UPGRADE; keep the client's protocol or upgrade to HTTP/2, not both",
      );
    }
  }
  if (isObj(tcp)) {
    const at = [...path, "tcp"];
    checkNonNegative(ctx, [...at, "maxConnections"], tcp.maxConnections, "maxConnections");
    checkIstioDuration(ctx, [...at, "connectTimeout"], tcp.connectTimeout);
    checkIstioDuration(ctx, [...at, "maxConnectionDuration"], tcp.maxConnectionDuration);
    checkIstioDuration(ctx, [...at, "idleTimeout"], tcp.idleTimeout, { allowZero: true });
    const keepalive = tcp.tcpKeepalive;
    if (isObj(keepalive)) {
      checkIstioDuration(ctx, [...at, "tcpKeepalive", "time"], keepalive.time);
      checkIstioDuration(ctx, [...at, "tcpKeepalive", "interval"], keepalive.interval);
    }
  }
}
