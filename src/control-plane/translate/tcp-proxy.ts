// TCP proxying as Istio builds it (networkfilter.go, tls.go): tcp_proxy filters for one or
// weighted destinations, VirtualService `tcp`/`tls` rules (routes-tcp.ts) turned into filter
// chains, and the catch-all PassthroughCluster / BlackHoleCluster filters for unknown traffic.
import {
  BLACKHOLE_CLUSTER,
  buildClusterName,
  PASSTHROUGH_CLUSTER,
  parseClusterName,
} from "../../api/istio-names.ts";
import { formatDuration, parseDuration } from "../../base/duration.ts";
import { hostsOverlap } from "../../config/analysis/hosts.ts";
import type { Resource } from "../../config/resource.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { Service } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { accessLogsFor } from "./access-log.ts";
import { destinationRuleFor } from "./destination-rules.ts";
import { type ChainOptions, compact, typed } from "./listener-common.ts";
import { type VirtualServiceView, viewOf } from "./route-virtual-services.ts";
import { buildTcpRoutes, buildTlsRoutes, type L4Route } from "./routes-tcp.ts";
import type { SidecarScope } from "./sidecar-scope.ts";
import { statsNetworkFilters } from "./stats-filter.ts";
import { telemetryContext } from "./telemetry-scope.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export const TCP_PROXY_FILTER_NAME = "envoy.filters.network.tcp_proxy";
const TCP_PROXY_TYPE = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

export interface TcpProxyOptions {
  statPrefix: string;
  cluster?: string;
  weightedClusters?: readonly { name: string; weight: number }[];
  idleTimeout?: string;
  maxDownstreamConnectionDuration?: string;
  hashBySourceIp?: boolean;
  /** The tcp_proxy's access_log (Istio's setTCPAccessLog); omitted when empty. */
  accessLog?: readonly JsonObject[];
}

export function tcpProxyFilter(options: TcpProxyOptions): JsonObject {
  return {
    name: TCP_PROXY_FILTER_NAME,
    typed_config: typed(
      TCP_PROXY_TYPE,
      compact({
        stat_prefix: options.statPrefix,
        cluster: options.cluster,
        weighted_clusters: options.weightedClusters
          ? { clusters: options.weightedClusters.map((c) => ({ name: c.name, weight: c.weight })) }
          : undefined,
        idle_timeout: options.idleTimeout,
        max_downstream_connection_duration: options.maxDownstreamConnectionDuration,
        hash_policy: options.hashBySourceIp ? [{ source_ip: {} }] : undefined,
        access_log: options.accessLog?.length ? [...options.accessLog] : undefined,
      }),
    ),
  };
}

/** Everything needed to turn L4 routes into filters for one proxy. */
export interface L4Context {
  snapshot: MeshSnapshot;
  proxy: ProxyNode;
  scope: SidecarScope;
}

function protoDuration(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const parsed = parseDuration(value);
  return parsed.ok ? formatDuration(parsed.ms) : undefined;
}

/** Proxy metadata IDLE_TIMEOUT (Istio's node.Metadata.IdleTimeout), as a protobuf duration. */
export function metadataIdleTimeout(proxy: ProxyNode): string | undefined {
  return protoDuration(proxy.metadata.IDLE_TIMEOUT);
}

/** The cluster catch-all traffic goes to: passthrough, the Sidecar's egressProxy, or the black hole. */
export function catchAllCluster(scope: SidecarScope): string {
  const policy = scope.outboundTrafficPolicy;
  if (policy.mode !== "ALLOW_ANY") return BLACKHOLE_CLUSTER;
  const egress = policy.egressProxy;
  if (!egress) return PASSTHROUGH_CLUSTER;
  return buildClusterName({
    direction: "outbound",
    port: egress.port ?? 0,
    subset: egress.subset ?? "",
    host: egress.host,
  });
}

/** Outbound and gateway tcp_proxies log as the client side. */
function clientAccessLogs(ctx: Pick<L4Context, "snapshot" | "proxy">): JsonObject[] {
  return accessLogsFor(telemetryContext(ctx), "CLIENT");
}

/**
 * The stats filters before an outbound or gateway tcp_proxy: istiod's networkfilter.go builds
 * them as the sidecar-outbound class whichever listener the chain is on.
 */
function clientStatsFilters(ctx: Pick<L4Context, "snapshot" | "proxy">): JsonObject[] {
  return statsNetworkFilters(telemetryContext(ctx), "sidecar-outbound");
}

/** Istio's buildOutboundCatchAllNetworkFiltersOnly (access-logged even towards the black hole). */
export function catchAllFilters(ctx: L4Context): JsonObject[] {
  const cluster = catchAllCluster(ctx.scope);
  return [
    ...clientStatsFilters(ctx),
    tcpProxyFilter({
      statPrefix: cluster,
      cluster,
      idleTimeout: metadataIdleTimeout(ctx.proxy),
      accessLog: clientAccessLogs(ctx),
    }),
  ];
}

export function blackholeFilters(): JsonObject[] {
  return [tcpProxyFilter({ statPrefix: BLACKHOLE_CLUSTER, cluster: BLACKHOLE_CLUSTER })];
}

/** The blackhole chains of virtualOutbound and virtualInbound: istiod counts their connections. */
export function blackholeChainFilters(
  ctx: Pick<L4Context, "snapshot" | "proxy">,
  cls: "sidecar-outbound" | "sidecar-inbound",
): JsonObject[] {
  return [...statsNetworkFilters(telemetryContext(ctx), cls), ...blackholeFilters()];
}

/** Idle timeout, max connection duration and source-IP hashing from the DestinationRule. */
function tcpPolicy(
  ctx: Pick<L4Context, "snapshot" | "proxy">,
  host: string,
  subset: string,
): Partial<TcpProxyOptions> {
  const rule = destinationRuleFor(ctx.snapshot, ctx.proxy, host);
  const tcp = (policy: unknown) =>
    isObj(policy) && isObj(policy.connectionPool) && isObj(policy.connectionPool.tcp)
      ? policy.connectionPool.tcp
      : {};
  const hash = (policy: unknown) =>
    isObj(policy) && isObj(policy.loadBalancer) ? policy.loadBalancer.consistentHash : undefined;
  let consistent = hash(rule?.trafficPolicy);
  const subsetSpec = rule?.subsets.find((s) => s.name === subset);
  if (subsetSpec && isObj(subsetSpec.trafficPolicy) && isObj(subsetSpec.trafficPolicy.loadBalancer))
    consistent = hash(subsetSpec.trafficPolicy);
  const options: Partial<TcpProxyOptions> = {};
  const idle =
    protoDuration(tcp(rule?.trafficPolicy).idleTimeout) ?? metadataIdleTimeout(ctx.proxy);
  if (idle) options.idleTimeout = idle;
  const max = protoDuration(tcp(rule?.trafficPolicy).maxConnectionDuration);
  if (max) options.maxDownstreamConnectionDuration = max;
  if (isObj(consistent) && consistent.useSourceIp === true) options.hashBySourceIp = true;
  return options;
}

/** The idle timeout a tcp_proxy to `clusters` gets (from the first one's DestinationRule). */
export function l4IdleTimeout(
  ctx: Pick<L4Context, "snapshot" | "proxy">,
  clusters: readonly { name: string }[],
): string | undefined {
  const parsed = clusters[0] ? parseClusterName(clusters[0].name) : undefined;
  return parsed ? tcpPolicy(ctx, parsed.host, parsed.subset).idleTimeout : undefined;
}

/** Istio's buildOutboundNetworkFiltersWithSingleDestination. */
export function singleDestinationFilters(ctx: L4Context, cluster: string): JsonObject[] {
  const parsed = parseClusterName(cluster);
  const policy = parsed ? tcpPolicy(ctx, parsed.host, parsed.subset) : {};
  const accessLog = clientAccessLogs(ctx);
  return [
    ...clientStatsFilters(ctx),
    tcpProxyFilter({ statPrefix: cluster, cluster, ...policy, accessLog }),
  ];
}

/** The same for a cluster whose name does not carry its host (SNI-DNAT clusters). */
export function destinationFilters(
  ctx: L4Context,
  cluster: string,
  host: string,
  subset: string,
): JsonObject[] {
  const accessLog = clientAccessLogs(ctx);
  return [
    ...clientStatsFilters(ctx),
    tcpProxyFilter({ statPrefix: cluster, cluster, ...tcpPolicy(ctx, host, subset), accessLog }),
  ];
}

/** Istio's buildOutboundNetworkFilters for one L4 rule: one cluster, or weighted ones named after the VS. */
export function l4RouteFilters(ctx: L4Context, route: L4Route): JsonObject[] {
  const first = route.clusters[0];
  if (!first) return blackholeFilters();
  if (route.clusters.length === 1) return singleDestinationFilters(ctx, first.name);
  const parsed = parseClusterName(first.name);
  const { idleTimeout, maxDownstreamConnectionDuration, hashBySourceIp } = parsed
    ? tcpPolicy(ctx, parsed.host, "")
    : ({} as Partial<TcpProxyOptions>);
  const vs = route.virtualService;
  return [
    ...clientStatsFilters(ctx),
    tcpProxyFilter({
      statPrefix: `${vs.name}.${vs.namespace}`,
      weightedClusters: route.clusters,
      ...(idleTimeout ? { idleTimeout } : {}),
      ...(maxDownstreamConnectionDuration ? { maxDownstreamConnectionDuration } : {}),
      ...(hashBySourceIp ? { hashBySourceIp } : {}),
      accessLog: clientAccessLogs(ctx),
    }),
  ];
}

/** Views of the VirtualServices whose hosts match `hostname` (Istio's getConfigsForHost). */
export function virtualServicesForHost(
  snapshot: MeshSnapshot,
  virtualServices: readonly Resource[],
  hostname: string,
): VirtualServiceView[] {
  return virtualServices
    .map((vs) => viewOf(snapshot, vs))
    .filter((v): v is VirtualServiceView => !!v && v.hosts.some((h) => hostsOverlap(h, hostname)));
}

function defaultCluster(service: Service, listenPort: number): string {
  const port = service.ports.length === 1 ? service.ports[0]!.port : listenPort;
  return buildClusterName({ direction: "outbound", port, subset: "", host: service.hostname });
}

/** Istio's buildSidecarOutboundTLSFilterChainOpts: SNI chains from `tls` routes, else one default. */
export function sidecarTlsChains(
  ctx: L4Context,
  service: Service,
  listenPort: number,
  options: {
    cidrs: readonly string[];
    wildcardBind: boolean;
    views: readonly VirtualServiceView[];
  },
): ChainOptions[] {
  const out: ChainOptions[] = [];
  const handled = new Set<string>();
  for (const view of options.views) {
    for (const route of buildTlsRoutes(view, listenPort, ctx)) {
      const { sniHosts, destinationSubnets } = route.match;
      const key = `${sniHosts.join(",")}|${destinationSubnets.join(",")}`;
      if (handled.has(key)) continue;
      handled.add(key);
      out.push({
        sniHosts,
        destinationCidrs: destinationSubnets.length ? destinationSubnets : options.cidrs,
        filters: l4RouteFilters(ctx, route),
      });
    }
  }
  if (out.length) return out;
  const needSni =
    options.cidrs.length > 0 || service.addresses.length === 0 || options.wildcardBind;
  return [
    {
      ...(needSni ? { sniHosts: [service.hostname] } : {}),
      destinationCidrs: options.cidrs,
      filters: singleDestinationFilters(ctx, defaultCluster(service, listenPort)),
    },
  ];
}

/** Istio's buildSidecarOutboundTCPFilterChainOpts: `tcp` routes by destination subnet, else default. */
export function sidecarTcpChains(
  ctx: L4Context,
  service: Service,
  listenPort: number,
  options: { cidrs: readonly string[]; views: readonly VirtualServiceView[] },
): ChainOptions[] {
  const out: ChainOptions[] = [];
  const sameCidrs = (a: readonly string[]) =>
    [...a].sort().join() === [...options.cidrs].sort().join();
  for (const view of options.views) {
    for (const route of buildTcpRoutes(view, listenPort, ctx)) {
      const subnets = route.match.destinationSubnets;
      // A rule without destination subnets catches everything: nothing after it is reachable.
      if (subnets.length === 0)
        return [...out, { destinationCidrs: options.cidrs, filters: l4RouteFilters(ctx, route) }];
      out.push({ destinationCidrs: subnets, filters: l4RouteFilters(ctx, route) });
      if (sameCidrs(subnets)) return out;
    }
  }
  const filters = singleDestinationFilters(ctx, defaultCluster(service, listenPort));
  return [...out, { destinationCidrs: options.cidrs, filters }];
}
