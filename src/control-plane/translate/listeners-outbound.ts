// Sidecar outbound listeners in Istio's layout (listener.go): `0.0.0.0_P` HTTP listeners using RDS
// route "P", `VIP_P` TCP/TLS listeners, protocol-conflict merging with sniffing, passthrough default
// chains, and `virtualOutbound` — on 15001 with original-dst, or (local runtime) the bound HTTP proxy.
import { VIRTUAL_OUTBOUND_LISTENER } from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { isHttpProtocol, type Protocol, type Service, type ServicePort } from "../model/service.ts";
import { buildHttpConnectionManager, hcmFilter } from "./http-connection-manager.ts";
import {
  type ChainOptions,
  chainsConflict,
  compact,
  filterChain,
  filterChainMatch,
  HTTP_INSPECTOR,
  isMatchAll,
  type ListenerContext,
  OUTBOUND_CAPTURE_PORT,
  PASSTHROUGH_FILTER_CHAIN,
  PLAINTEXT_HTTP_ALPNS,
  proxyIp,
  RAW_BUFFER,
  socketAddress,
  TLS_INSPECTOR,
  VIRTUAL_OUTBOUND_BLACKHOLE_CHAIN,
  VIRTUAL_OUTBOUND_CATCHALL_TCP_CHAIN,
  WILDCARD_IPV4,
} from "./listener-common.ts";
import { LOCAL_OUTBOUND_ROUTE_CONFIG } from "./route-configs.ts";
import type { EgressListenerScope } from "./sidecar-scope.ts";
import {
  blackholeChainFilters,
  catchAllFilters,
  sidecarTcpChains,
  sidecarTlsChains,
  virtualServicesForHost,
} from "./tcp-proxy.ts";
import { telemetryContext } from "./telemetry-scope.ts";

type ListenerProtocol = "HTTP" | "TCP" | "AUTO" | "NONE";

/** Istio's ModelProtocolToListenerProtocol. */
export function listenerProtocol(protocol: Protocol): ListenerProtocol {
  if (isHttpProtocol(protocol)) return "HTTP";
  if (protocol === "UNSUPPORTED") return "AUTO";
  if (protocol === "UDP") return "NONE";
  return "TCP";
}

const isTcp = (p: Protocol) => listenerProtocol(p) === "TCP";
const isTls = (p: Protocol) => p === "TLS" || p === "HTTPS";

interface Entry {
  bind: string;
  port: number;
  protocol: Protocol;
  bindToPort: boolean;
  chains: ChainOptions[];
  locked: boolean;
}

interface Candidate {
  service: Service;
  port: Pick<ServicePort, "port" | "protocol">;
  bind?: string;
  bindToPort: boolean;
  egress: EgressListenerScope;
}

function httpChains(
  ctx: ListenerContext,
  c: Candidate,
  bind: string,
  sniffed: boolean,
): ChainOptions[] {
  // Sniffed services on their own address get a per-service route; otherwise one route per port.
  const rds =
    listenerProtocol(c.port.protocol) === "AUTO" && bind !== WILDCARD_IPV4
      ? `${c.service.hostname}:${c.port.port}`
      : String(c.port.port);
  const hcm = buildHttpConnectionManager(telemetryContext(ctx), {
    class: "sidecar-outbound",
    statPrefix: `outbound_${bind}_${c.port.port};`,
    rds,
    useRemoteAddress: false,
  });
  const chain: ChainOptions = { filters: [hcmFilter(hcm)], http: true };
  return sniffed
    ? [{ ...chain, applicationProtocols: PLAINTEXT_HTTP_ALPNS, transportProtocol: RAW_BUFFER }]
    : [chain];
}

function tcpChains(
  ctx: ListenerContext,
  c: Candidate,
  bind: string,
  cidrs: string[],
): ChainOptions[] {
  const views = virtualServicesForHost(ctx.snapshot, c.egress.virtualServices, c.service.hostname);
  return isTls(c.port.protocol)
    ? sidecarTlsChains(ctx, c.service, c.port.port, {
        cidrs,
        wildcardBind: bind === WILDCARD_IPV4,
        views,
      })
    : sidecarTcpChains(ctx, c.service, c.port.port, { cidrs, views });
}

function merge(current: Entry, incoming: ChainOptions[]): void {
  for (const chain of incoming)
    if (!current.chains.some((existing) => chainsConflict(existing, chain)))
      current.chains.push(chain);
}

/** Istio's buildSidecarOutboundListener: adds or merges one service port into the listener map. */
function addCandidate(ctx: ListenerContext, map: Map<string, Entry>, c: Candidate): void {
  const lp = listenerProtocol(c.port.protocol);
  if (lp === "NONE") return;
  let bind = c.bind;
  const cidrs: string[] = [];
  if (!bind && lp !== "HTTP") {
    const vip = c.service.addresses[0] ?? WILDCARD_IPV4;
    if (vip.includes("/")) cidrs.push(vip);
    bind = vip.includes("/") ? WILDCARD_IPV4 : vip;
  }
  bind ??= WILDCARD_IPV4;
  const key = `${bind}_${c.port.port}`;
  const current = map.get(key);
  if (current?.locked) return;
  let protocol: Protocol = c.port.protocol;
  let chains: ChainOptions[];
  let action: "add" | "merge" | "mergeAuto" = "add";
  if (c.port.protocol === "HTTP_PROXY") {
    chains = httpChains(ctx, c, bind, false);
  } else if (lp === "HTTP") {
    if (current && !isTcp(current.protocol)) return;
    if (current) action = "mergeAuto";
    const sniffed = bind === WILDCARD_IPV4;
    chains = httpChains(ctx, c, bind, sniffed);
    if (sniffed) protocol = "UNSUPPORTED";
  } else if (lp === "TCP") {
    chains = tcpChains(ctx, c, bind, cidrs);
    if (current) action = isHttpProtocol(current.protocol) ? "mergeAuto" : "merge";
  } else {
    if (current && current.protocol === "UNSUPPORTED") return;
    if (current && isTcp(current.protocol)) action = "mergeAuto";
    chains = [...tcpChains(ctx, c, bind, cidrs), ...httpChains(ctx, c, bind, true)];
  }
  if (current && action !== "add") {
    // Mongo and MySQL cannot share a port with anything else.
    const special = (p: Protocol) => p === "MONGO" || p === "MYSQL";
    if (
      (special(c.port.protocol) || special(current.protocol)) &&
      c.port.protocol !== current.protocol
    )
      return;
    merge(current, chains);
    if (action === "mergeAuto") current.protocol = "UNSUPPORTED";
    return;
  }
  map.set(key, {
    bind,
    port: c.port.port,
    protocol,
    bindToPort: c.bindToPort,
    chains,
    locked: false,
  });
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Headless TCP services get one listener per endpoint IP (Istio's per-instance listeners). */
function headlessBinds(
  ctx: ListenerContext,
  service: Service,
  port: ServicePort,
): string[] | undefined {
  if (
    service.addresses.length ||
    service.resolution !== "NONE" ||
    listenerProtocol(port.protocol) === "HTTP"
  )
    return undefined;
  const endpoints = ctx.snapshot.endpointsOf(service.hostname, port.port, service.namespace);
  if (endpoints.length === 0) return service.kind === "Service" ? [] : undefined;
  return [...new Set(endpoints.map((e) => e.address))].filter(
    (a) => IPV4.test(a) && a !== ctx.proxy.ips[0],
  );
}

function toListener(ctx: ListenerContext, entry: Entry): JsonObject {
  const needTls = entry.chains.some((c) => (c.sniHosts?.length ?? 0) > 0);
  const needHttp = entry.chains.some((c) => (c.applicationProtocols?.length ?? 0) > 0);
  const chains: JsonObject[] = [];
  let fallback: JsonObject | undefined;
  for (const chain of entry.chains) {
    if (isMatchAll(chain)) fallback = filterChain(chain, false);
    else chains.push({ ...filterChain(chain, false), filter_chain_match: filterChainMatch(chain) });
  }
  if (fallback && chains.length === 0) {
    chains.push(fallback);
    fallback = undefined;
  } else if (!fallback) {
    fallback = {
      filter_chain_match: {},
      name: PASSTHROUGH_FILTER_CHAIN,
      filters: catchAllFilters(ctx),
    };
  }
  return compact({
    name: `${entry.bind}_${entry.port}`,
    address: socketAddress(entry.bind, entry.port),
    filter_chains: chains,
    default_filter_chain: fallback,
    bind_to_port: entry.bindToPort ? undefined : false,
    listener_filters:
      needTls || needHttp ? [TLS_INSPECTOR, ...(needHttp ? [HTTP_INSPECTOR] : [])] : undefined,
    listener_filters_timeout: "0s",
    continue_on_listener_filters_timeout: true,
    traffic_direction: "OUTBOUND",
  });
}

/** Every outbound listener of a sidecar, from its scope's egress listeners (Istio's order of precedence). */
export function buildSidecarOutboundListeners(ctx: ListenerContext): JsonObject[] {
  const map = new Map<string, Entry>();
  for (const egress of ctx.scope.egressListeners) {
    const bindToPort =
      egress.captureMode === "NONE" || (egress.bind?.startsWith("unix://") ?? false);
    const bind = egress.bind ?? (bindToPort ? "127.0.0.1" : undefined);
    if (egress.port) {
      const port = { port: egress.port.number, protocol: egress.port.protocol };
      for (const service of egress.services)
        addCandidate(ctx, map, { service, port, bind, bindToPort, egress });
      continue;
    }
    for (const entry of map.values()) entry.locked = true;
    for (const service of egress.services) {
      for (const port of service.ports) {
        const perEndpoint = bind ? undefined : headlessBinds(ctx, service, port);
        const binds = perEndpoint ?? [bind];
        for (const b of binds)
          addCandidate(ctx, map, { service, port, bind: b, bindToPort, egress });
      }
    }
  }
  return [...map.values()].map((entry) => toListener(ctx, entry));
}

/** Istio's virtualOutbound: original-dst capture on 15001 with blackhole and catch-all chains. */
export function buildVirtualOutboundListener(ctx: ListenerContext): JsonObject {
  return {
    name: VIRTUAL_OUTBOUND_LISTENER,
    address: socketAddress(WILDCARD_IPV4, OUTBOUND_CAPTURE_PORT),
    filter_chains: [
      {
        name: VIRTUAL_OUTBOUND_BLACKHOLE_CHAIN,
        filter_chain_match: { destination_port: OUTBOUND_CAPTURE_PORT },
        filters: blackholeChainFilters(ctx, "sidecar-outbound"),
      },
      {
        name: VIRTUAL_OUTBOUND_CATCHALL_TCP_CHAIN,
        filters: catchAllFilters(ctx),
      },
    ],
    use_original_dst: true,
    traffic_direction: "OUTBOUND",
  };
}

/** Route configuration the local runtime's HTTP proxy listener uses (built by the routes code). */
/**
 * The local runtime's `virtualOutbound`: a real listener on `<podIP>:15001` that apps reach through
 * HTTP_PROXY (DESIGN §3). One HCM takes absolute-form requests (`allow_absolute_url`) and CONNECT
 * (HTTP/1.1 upgrade and HTTP/2 extended CONNECT), routed by RDS "15001". How a CONNECT tunnel
 * continues is the routes' and the proxy's business: see the contract in translate-proxy.ts.
 */
export function buildLocalHttpProxyListener(ctx: ListenerContext): JsonObject {
  const ip = proxyIp(ctx.proxy.ips);
  const hcm = buildHttpConnectionManager(telemetryContext(ctx), {
    class: "sidecar-outbound",
    statPrefix: `outbound_${ip}_${OUTBOUND_CAPTURE_PORT};`,
    rds: LOCAL_OUTBOUND_ROUTE_CONFIG,
    useRemoteAddress: false,
    httpProtocolOptions: { allow_absolute_url: true },
    http2ProtocolOptions: { allow_connect: true },
    extraUpgrades: ["CONNECT"],
  });
  return {
    name: VIRTUAL_OUTBOUND_LISTENER,
    address: socketAddress(ip, OUTBOUND_CAPTURE_PORT),
    filter_chains: [{ filters: [hcmFilter(hcm)] }],
    listener_filters_timeout: "0s",
    continue_on_listener_filters_timeout: true,
    traffic_direction: "OUTBOUND",
  };
}
