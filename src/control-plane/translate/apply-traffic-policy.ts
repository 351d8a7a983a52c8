// Applies a resolved traffic policy to a cluster in istiod's order (applyTrafficPolicy):
// connection pool (inbound and outbound), then for outbound the h2 upgrade, outlier detection,
// load balancer (which reads whether outlier detection is on) and upstream TLS; ORIGINAL_DST
// clusters always end up with lb_policy CLUSTER_PROVIDED. Also the per-port upstream protocol.
import type { ProxyNode } from "../model/proxy.ts";
import type { Service, ServicePort } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import {
  type ClusterDraft,
  isHttp2,
  setHttp2,
  setUpstreamHttpOptions,
  setUseDownstreamProtocol,
} from "./cluster-draft.ts";
import type { TrafficPolicy } from "./cluster-traffic-policy.ts";
import { applyConnectionPool, applyH2Upgrade } from "./connection-pool.ts";
import type { EffectiveDestinationRule } from "./destination-rules.ts";
import { localityClientOf } from "./endpoints.ts";
import { applyLoadBalancer } from "./load-balancer.ts";
import { applyOutlierDetection } from "./outlier-detection.ts";
import { buildUpstreamTls, istioMtlsSni } from "./upstream-tls.ts";

export interface PolicyContext {
  snapshot: MeshSnapshot;
  proxy: ProxyNode;
  service: Service;
  port: ServicePort;
  subset: string;
  direction: "inbound" | "outbound";
  sendUnhealthyEndpoints?: boolean;
  /** Istio's SniDnatClusterMode: the gateway relays TLS as is, so no upstream TLS. */
  sniDnat?: boolean;
  /** The DestinationRule that applies (upstream TLS reads its workloadSelector and load balancer). */
  dr?: EffectiveDestinationRule;
}

/** HTTP/2 for http2/grpc ports; sniffed ports on sidecars follow the downstream protocol. */
export function setUpstreamProtocol(
  draft: ClusterDraft,
  port: ServicePort,
  proxy: ProxyNode,
): void {
  const protocol = port.protocol;
  if (protocol === "HTTP2" || protocol === "GRPC" || protocol === "GRPC-Web") {
    setHttp2(draft);
  } else if (proxy.kind === "sidecar" && protocol === "UNSUPPORTED") {
    // Gateways do not sniff, and clients negotiating h2 via ALPN must not force h2 upstream.
    setUseDownstreamProtocol(draft);
  }
}

export function applyTrafficPolicy(
  draft: ClusterDraft,
  policy: TrafficPolicy | undefined,
  ctx: PolicyContext,
): void {
  const { cluster } = draft;
  const connectionPool = policy?.connectionPool ?? {};
  applyConnectionPool(draft, connectionPool, ctx.snapshot.meshConfig);
  if (ctx.direction === "outbound") {
    applyH2Upgrade(draft, ctx.port, connectionPool);
    applyOutlierDetection(cluster, policy?.outlierDetection, ctx.sendUnhealthyEndpoints);
    applyLoadBalancer(draft, policy?.loadBalancer, {
      mesh: ctx.snapshot.meshConfig,
      client: localityClientOf(ctx.proxy),
      sendUnhealthyEndpoints: ctx.sendUnhealthyEndpoints,
    });
    const tls = ctx.sniDnat
      ? undefined
      : buildUpstreamTls({
          snapshot: ctx.snapshot,
          proxy: ctx.proxy,
          service: ctx.service,
          port: ctx.port,
          tls: policy?.tls,
          subset: ctx.subset,
          istioMtlsSni: istioMtlsSni(ctx.port.port, ctx.subset, ctx.service.hostname),
          dr: ctx.dr,
          clusterType: String(cluster.type),
          http2: isHttp2(draft),
        });
    if (tls?.transport_socket) cluster.transport_socket = tls.transport_socket;
    if (tls?.transport_socket_matches) {
      cluster.transport_socket_matches = tls.transport_socket_matches;
    }
    if (tls?.upstreamHttpProtocolOptions) {
      setUpstreamHttpOptions(draft, tls.upstreamHttpProtocolOptions);
    }
  }
  if (cluster.type === "ORIGINAL_DST") cluster.lb_policy = "CLUSTER_PROVIDED";
}
