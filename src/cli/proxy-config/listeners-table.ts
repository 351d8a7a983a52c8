// `proxy-config listeners`: one row per filter chain as istioctl prints it — the listener's
// addresses and port, what the chain matches (SNI, transport, ALPN, destination) and where it
// sends traffic (an RDS route, a cluster, an inline route) — with --address/--port/--type.
import type { Json, JsonObject } from "../../xds/proto-json.ts";
import { formatTable } from "../table.ts";
import { isObject, numberAt, objectAt, objectsAt, stringAt, stringsAt } from "./config-dump.ts";
import { describeRouteMatch } from "./route-match.ts";

export interface ListenerFilter {
  address?: string;
  port?: number;
  /** HTTP, TCP, HTTP+TCP or UNKNOWN (case-insensitive). */
  type?: string;
}

export interface ListenerRow {
  addresses: string;
  port: number;
  match: string;
  destination: string;
}

export const LISTENER_COLUMNS = ["ADDRESSES", "PORT", "MATCH", "DESTINATION"] as const;
/** istioctl's listener table is the one written with a padding of 1. */
const LISTENER_PADDING = 1;

const HTTP_CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager";
const TCP_PROXY = "envoy.filters.network.tcp_proxy";
const HCM_TYPE =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TCP_PROXY_TYPE = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const BLACKHOLE_CLUSTER = "BlackHoleCluster";

/** ALPN lists Istio writes, by the short name istioctl gives them. */
const ALPN_DESCRIPTIONS: readonly [string, readonly string[]][] = [
  [
    "App: HTTP TLS",
    ["http/1.0", "http/1.1", "h2c", "istio-http/1.0", "istio-http/1.1", "istio-h2"],
  ],
  ["App: Istio HTTP Plain", ["istio", "istio-http/1.0", "istio-http/1.1", "istio-h2"]],
  ["App: TCP TLS", ["istio-peer-exchange", "istio"]],
  ["App: HTTP", ["http/1.0", "http/1.1", "h2c"]],
];

function isFilter(filter: JsonObject, name: string, type: string): boolean {
  return (
    stringAt(filter, "name") === name ||
    stringAt(objectAt(filter, "typed_config"), "@type") === type
  );
}

const isHcm = (f: JsonObject) => isFilter(f, HTTP_CONNECTION_MANAGER, HCM_TYPE);
/** A TCP proxy that forwards somewhere (istioctl does not count one to BlackHoleCluster). */
const isForwardingTcpProxy = (f: JsonObject) =>
  isFilter(f, TCP_PROXY, TCP_PROXY_TYPE) &&
  !JSON.stringify(f.typed_config ?? null).includes(BLACKHOLE_CLUSTER);

function filterChains(listener: JsonObject): JsonObject[] {
  const chains = objectsAt(listener, "filter_chains");
  const fallback = objectAt(listener, "default_filter_chain");
  return fallback ? [...chains, fallback] : chains;
}

/** HTTP, TCP, HTTP+TCP or UNKNOWN, by the filters of all chains. */
export function listenerType(listener: JsonObject): string {
  const filters = filterChains(listener).flatMap((chain) => objectsAt(chain, "filters"));
  const http = filters.some(isHcm);
  const tcp = filters.some(isForwardingTcpProxy);
  if (http) return tcp ? "HTTP+TCP" : "HTTP";
  return tcp ? "TCP" : "UNKNOWN";
}

function socketAddress(address: Json | undefined): JsonObject | undefined {
  return objectAt(address, "socket_address");
}

export function listenerAddress(listener: JsonObject): string {
  const address = objectAt(listener, "address");
  const socket = socketAddress(address);
  if (socket) return stringAt(socket, "address");
  return stringAt(objectAt(address, "pipe"), "path");
}

export function listenerAddresses(listener: JsonObject): string[] {
  const extra = objectsAt(listener, "additional_addresses").map((a) =>
    stringAt(socketAddress(objectAt(a, "address")), "address"),
  );
  return [listenerAddress(listener), ...extra];
}

export function listenerPort(listener: JsonObject): number {
  return numberAt(socketAddress(objectAt(listener, "address")), "port_value");
}

/** istioctl's ListenerFilter.Verify. */
export function listenerMatches(listener: JsonObject, filter: ListenerFilter): boolean {
  if (filter.address) {
    const wanted = filter.address.toLowerCase();
    if (!listenerAddresses(listener).some((a) => a.toLowerCase() === wanted)) return false;
  }
  if (filter.port && listenerPort(listener) !== filter.port) return false;
  if (filter.type && listenerType(listener).toLowerCase() !== filter.type.toLowerCase())
    return false;
  return true;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** What a FilterChainMatch selects, in istioctl's words ("ALL" when nothing). */
export function describeChainMatch(match: JsonObject | undefined): string {
  const parts: string[] = [];
  const serverNames = stringsAt(match, "server_names");
  if (serverNames.length > 0) parts.push(`SNI: ${serverNames.join(",")}`);
  const transport = stringAt(match, "transport_protocol");
  if (transport !== "") parts.push(`Trans: ${transport}`);
  const alpn = stringsAt(match, "application_protocols");
  if (alpn.length > 0) {
    const known = ALPN_DESCRIPTIONS.find(([, list]) => sameList(alpn, list));
    parts.push(known ? known[0] : `App: ${alpn.join(",")}`);
  }
  const hasPort = isObject(match) && match.destination_port !== undefined;
  const port = hasPort ? `:${numberAt(match, "destination_port")}` : "";
  const ranges = objectsAt(match, "prefix_ranges");
  if (ranges.length > 0) {
    const cidrs = ranges.map(
      (r) => `${stringAt(r, "address_prefix")}/${numberAt(r, "prefix_len")}`,
    );
    parts.push(`Addr: ${cidrs.join(",")}${port}`);
  } else if (port !== "") {
    parts.push(`Addr: *${port}`);
  }
  return parts.length > 0 ? parts.join("; ") : "ALL";
}

/** A cluster as istioctl names it: the Istio special clusters bare, others "Cluster: name". */
function clusterDestination(cluster: string): string {
  return cluster.includes("Cluster") ? cluster : `Cluster: ${cluster}`;
}

function matchAllCluster(routeConfig: JsonObject): string {
  const vhosts = objectsAt(routeConfig, "virtual_hosts");
  if (vhosts.length !== 1) return "";
  const [vhost] = vhosts;
  if (!sameList(stringsAt(vhost, "domains"), ["*"])) return "";
  const routes = objectsAt(vhost, "routes");
  if (routes.length !== 1) return "";
  const [route] = routes;
  if (stringAt(objectAt(route, "match"), "prefix") !== "/") return "";
  const cluster = stringAt(objectAt(route, "route"), "cluster");
  return cluster === "" ? "" : clusterDestination(cluster);
}

function describeInlineRoutes(routeConfig: JsonObject): string {
  const single = matchAllCluster(routeConfig);
  if (single !== "") return single;
  const vhosts = objectsAt(routeConfig, "virtual_hosts").map((vhost) => {
    const domains = stringsAt(vhost, "domains");
    const matches = objectsAt(vhost, "routes")
      .map((r) => describeRouteMatch(objectAt(r, "match")))
      .join(", ");
    return sameList(domains, ["*"]) ? matches : `${domains.join("/")} ${matches}`;
  });
  return `Inline Route: ${vhosts.join("; ")}`;
}

/** Where a chain's filters send traffic. */
export function describeChainDestination(filters: readonly JsonObject[]): string {
  for (const filter of filters) {
    const config = objectAt(filter, "typed_config");
    if (isHcm(filter)) {
      const inline = objectAt(config, "route_config");
      if (inline) return describeInlineRoutes(inline);
      const rds = stringAt(objectAt(config, "rds"), "route_config_name");
      return rds !== "" ? `Route: ${rds}` : "HTTP";
    }
    if (isForwardingTcpProxy(filter)) {
      const weighted = objectsAt(objectAt(config, "weighted_clusters"), "clusters").map((c) =>
        stringAt(c, "name"),
      );
      return clusterDestination(stringAt(config, "cluster") || weighted.join(","));
    }
  }
  return "Non-HTTP/Non-TCP";
}

/** The listeners the filter keeps, by port, address, then type (istioctl's order). */
export function selectListeners(
  listeners: readonly JsonObject[],
  filter: ListenerFilter,
): JsonObject[] {
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return listeners
    .filter((l) => listenerMatches(l, filter))
    .sort(
      (a, b) =>
        listenerPort(a) - listenerPort(b) ||
        compare(listenerAddress(a), listenerAddress(b)) ||
        compare(listenerType(a), listenerType(b)),
    );
}

export function buildListenerRows(
  listeners: readonly JsonObject[],
  filter: ListenerFilter = {},
): ListenerRow[] {
  return selectListeners(listeners, filter).flatMap((listener) => {
    const addresses = listenerAddresses(listener).join(",");
    const port = listenerPort(listener);
    const chains = filterChains(listener).map((chain) => ({
      match: describeChainMatch(objectAt(chain, "filter_chain_match")),
      destination: describeChainDestination(objectsAt(chain, "filters")),
    }));
    // istioctl lists a listener's chains by destination, descending.
    chains.sort((a, b) =>
      a.destination < b.destination ? 1 : a.destination > b.destination ? -1 : 0,
    );
    return chains.map((chain) => ({ addresses, port, ...chain }));
  });
}

export function renderListenersTable(rows: readonly ListenerRow[]): string {
  return formatTable(
    LISTENER_COLUMNS,
    rows.map((r) => [r.addresses, String(r.port), r.match, r.destination]),
    LISTENER_PADDING,
  );
}
