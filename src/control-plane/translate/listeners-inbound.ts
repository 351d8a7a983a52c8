// Sidecar inbound listeners as Istio's listener_inbound.go builds them: `virtualInbound` on 15006
// with a blackhole chain, passthrough chains to InboundPassthroughCluster and one chain set per
// workload port (HCM with an inline `inbound|P||` route, or tcp_proxy); plus, in the local runtime,
// real listeners on `<podIP>:<containerPort>` carrying the same chains (no iptables there).
import {
  buildClusterName,
  buildListenerName,
  INBOUND_PASSTHROUGH_CLUSTER,
  VIRTUAL_INBOUND_LISTENER,
} from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { Protocol } from "../model/service.ts";
import { accessLogsFor } from "./access-log.ts";
import { buildAuthzNetworkFilters } from "./authz/authz-filters.ts";
import { buildHttpConnectionManager, hcmFilter } from "./http-connection-manager.ts";
import {
  inboundListenerFilters,
  inboundMtlsMode,
  inboundMtlsTransportSocket,
  matchOptions,
  passthroughMtlsPorts,
} from "./inbound-filter-chains.ts";
import {
  type ChainOptions,
  filterChain,
  INBOUND_CAPTURE_PORT,
  type ListenerContext,
  proxyIp,
  socketAddress,
  VIRTUAL_INBOUND_BLACKHOLE_CHAIN,
  VIRTUAL_INBOUND_CATCHALL_HTTP_CHAIN,
  WILDCARD_IPV4,
} from "./listener-common.ts";
import { metadataExchangeFilters } from "./metadata-exchange.ts";
import { statsNetworkFilters } from "./stats-filter.ts";
import { blackholeChainFilters, metadataIdleTimeout, tcpProxyFilter } from "./tcp-proxy.ts";
import { telemetryContext } from "./telemetry-scope.ts";

/** One inbound port: Istio's inboundChainConfig. */
export interface InboundPort {
  /** Service port (telemetry, virtual host name); 0 for passthrough. */
  servicePort: number;
  /** Port the workload listens on; chains match it as destination_port. */
  targetPort: number;
  protocol: Protocol;
  cluster: string;
  bind: string;
  /** A real listener instead of a virtualInbound chain (Sidecar ingress captureMode NONE). */
  bindToPort: boolean;
  /** Service host for tracing decorators (`host:port/*`). */
  hostname: string;
  passthrough?: boolean;
}

const inboundCluster = (port: number) =>
  buildClusterName({ direction: "inbound", port, subset: "", host: "" });

/** Workload ports: Sidecar ingress listeners when present, else target ports of selecting services. */
export function inboundPorts(ctx: ListenerContext): InboundPort[] {
  const byPort = new Map<number, InboundPort>();
  const sidecar = ctx.scope.sidecar;
  if (sidecar && ctx.scope.ingressListeners.length) {
    for (const ingress of ctx.scope.ingressListeners) {
      const port = ingress.port.number;
      if (byPort.has(port)) continue;
      byPort.set(port, {
        servicePort: port,
        targetPort: port,
        protocol: ingress.port.protocol,
        cluster: inboundCluster(port),
        bind: ingress.bind ?? WILDCARD_IPV4,
        bindToPort: ingress.captureMode === "NONE",
        hostname: `${sidecar.name}.${sidecar.namespace}`,
      });
    }
  } else {
    for (const service of ctx.snapshot.services) {
      for (const port of service.ports) {
        if (port.protocol === "UDP") continue;
        const mine = ctx.snapshot
          .endpointsOf(service.hostname, port.port, service.namespace)
          .filter((e) => ctx.proxy.ips.includes(e.address));
        for (const endpoint of mine) {
          if (byPort.has(endpoint.port)) continue;
          byPort.set(endpoint.port, {
            servicePort: port.port,
            targetPort: endpoint.port,
            protocol: port.protocol,
            cluster: inboundCluster(endpoint.port),
            bind: WILDCARD_IPV4,
            bindToPort: false,
            hostname: service.hostname,
          });
        }
      }
    }
  }
  return [...byPort.values()].sort((a, b) => a.targetPort - b.targetPort);
}

function inboundRouteConfig(port: InboundPort): JsonObject {
  return {
    name: port.cluster,
    virtual_hosts: [
      {
        name: `inbound|http|${port.servicePort}`,
        domains: ["*"],
        routes: [
          {
            name: "default",
            match: { prefix: "/" },
            decorator: { operation: `${port.hostname}:${port.servicePort}/*` },
            route: {
              cluster: port.cluster,
              timeout: "0s",
              max_stream_duration: { max_stream_duration: "0s", grpc_timeout_header_max: "0s" },
            },
          },
        ],
      },
    ],
    validate_clusters: false,
  };
}

function chainFilters(ctx: ListenerContext, port: InboundPort, http: boolean): JsonObject[] {
  if (!http) {
    return [
      ...metadataExchangeFilters(ctx.proxy),
      ...buildAuthzNetworkFilters(ctx),
      ...statsNetworkFilters(telemetryContext(ctx), "sidecar-inbound"),
      tcpProxyFilter({
        statPrefix: port.cluster,
        cluster: port.cluster,
        idleTimeout: metadataIdleTimeout(ctx.proxy),
        accessLog: accessLogsFor(telemetryContext(ctx), "SERVER"),
      }),
    ];
  }
  const statPrefix = port.passthrough
    ? `${port.cluster};`
    : `inbound_${port.bind}_${port.targetPort};`;
  const hcm = buildHttpConnectionManager(telemetryContext(ctx), {
    class: "sidecar-inbound",
    statPrefix,
    routeConfig: inboundRouteConfig(port),
    useRemoteAddress: false,
    protocol: port.protocol,
  });
  return [hcmFilter(hcm)];
}

/** Istio's inboundChainForOpts: one filter chain per match option. */
export function inboundChains(ctx: ListenerContext, port: InboundPort): ChainOptions[] {
  const mode = inboundMtlsMode(ctx, port.targetPort);
  return matchOptions(mode, port.protocol).map((option) => {
    const name = port.passthrough
      ? option.http
        ? VIRTUAL_INBOUND_CATCHALL_HTTP_CHAIN
        : VIRTUAL_INBOUND_LISTENER
      : buildListenerName(port.bind, port.targetPort);
    const transportSocket = option.tls ? inboundMtlsTransportSocket(ctx, option.http) : undefined;
    return {
      name,
      ...(port.targetPort ? { destinationPort: port.targetPort } : {}),
      transportProtocol: option.transportProtocol,
      ...(option.applicationProtocols ? { applicationProtocols: option.applicationProtocols } : {}),
      filters: chainFilters(ctx, port, option.http),
      ...(transportSocket ? { transportSocket } : {}),
      http: option.http,
    };
  });
}

function inboundListener(
  name: string,
  address: JsonObject,
  chains: ChainOptions[],
  bindToPort: boolean,
): JsonObject {
  const listenerFilters = inboundListenerFilters(chains, bindToPort);
  return {
    name,
    address,
    filter_chains: chains.map((c) => filterChain(c)),
    ...(listenerFilters.length ? { listener_filters: listenerFilters } : {}),
    listener_filters_timeout: "0s",
    continue_on_listener_filters_timeout: true,
    traffic_direction: "INBOUND",
  };
}

const PASSTHROUGH_PORT: Omit<InboundPort, "protocol"> = {
  servicePort: 0,
  targetPort: 0,
  cluster: INBOUND_PASSTHROUGH_CLUSTER,
  bind: WILDCARD_IPV4,
  bindToPort: false,
  hostname: "",
  passthrough: true,
};

/** virtualInbound plus the bound listeners (Sidecar captureMode NONE; every port in the local runtime). */
export function buildSidecarInboundListeners(ctx: ListenerContext): JsonObject[] {
  const ip = proxyIp(ctx.proxy.ips);
  const blackhole: ChainOptions = {
    name: VIRTUAL_INBOUND_BLACKHOLE_CHAIN,
    destinationPort: INBOUND_CAPTURE_PORT,
    filters: blackholeChainFilters(ctx, "sidecar-inbound"),
  };
  const ports = inboundPorts(ctx);
  // Passthrough chains for every port, then for ports only PeerAuthentication portLevelMtls names.
  const targetPorts = ports.map((p) => p.targetPort);
  const passthroughPorts = [0, ...passthroughMtlsPorts(ctx, targetPorts)];
  const chains: ChainOptions[] = [
    blackhole,
    ...passthroughPorts.flatMap((targetPort) =>
      inboundChains(ctx, { ...PASSTHROUGH_PORT, targetPort, protocol: "UNSUPPORTED" }),
    ),
  ];
  const listeners: JsonObject[] = [];
  for (const port of ports) {
    const portChains = inboundChains(ctx, port);
    if (port.bindToPort || ctx.mode === "local") {
      const bind = port.bind === WILDCARD_IPV4 && ctx.mode === "local" ? ip : port.bind;
      listeners.push(
        inboundListener(
          buildListenerName(bind, port.targetPort),
          socketAddress(bind, port.targetPort),
          portChains,
          true,
        ),
      );
    }
    if (!port.bindToPort) chains.push(...portChains);
  }
  const address = socketAddress(ctx.mode === "local" ? ip : WILDCARD_IPV4, INBOUND_CAPTURE_PORT);
  return [inboundListener(VIRTUAL_INBOUND_LISTENER, address, chains, false), ...listeners];
}
