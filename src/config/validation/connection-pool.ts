// ConnectionPoolSettings, shared by DestinationRule traffic policies and Sidecar ingress
// listeners: at least one of http/tcp, non-negative limits, Istio durations (tcp.idleTimeout
// may be 0s to disable it).
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { isObj, present } from "./rules.ts";
import { checkIstioDuration, checkNonNegative } from "./virtual-service-common.ts";

export function checkConnectionPool(ctx: ValidationContext, path: FieldPath, pool: unknown): void {
  if (!isObj(pool)) return;
  if (!present(pool.http) && !present(pool.tcp)) {
    ctx.error(
      path,
      "CREMA_VALIDATION_REQUIRED",
      "the connection pool is empty; set http or tcp limits, or remove it",
    );
    return;
  }
  const { http, tcp } = pool;
  if (isObj(http)) {
    const at = [...path, "http"];
    for (const field of [
      "http1MaxPendingRequests",
      "http2MaxRequests",
      "maxRequestsPerConnection",
      "maxRetries",
      "maxConcurrentStreams",
    ])
      checkNonNegative(ctx, [...at, field], http[field], field);
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
    // 0s disables the TCP idle timeout (Istio ≥ 1.26 accepts it).
    checkIstioDuration(ctx, [...at, "idleTimeout"], tcp.idleTimeout, { allowZero: true });
    if (isObj(tcp.tcpKeepalive)) {
      const keepalive = [...at, "tcpKeepalive"];
      checkIstioDuration(ctx, [...keepalive, "time"], tcp.tcpKeepalive.time);
      checkIstioDuration(ctx, [...keepalive, "interval"], tcp.tcpKeepalive.interval);
      checkNonNegative(ctx, [...keepalive, "probes"], tcp.tcpKeepalive.probes, "probes");
    }
  }
}
