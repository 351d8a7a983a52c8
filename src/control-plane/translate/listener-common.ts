// Shared pieces of listener translation: Envoy well-known names, typed configs, socket addresses,
// Istio's filter-chain options (match criteria + filters) and how they become FilterChains.
import type { Json, JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import type { SidecarScope } from "./sidecar-scope.ts";

export const WILDCARD_IPV4 = "0.0.0.0";
/** Istio's `ProxyListenPort` and `ProxyInboundListenPort`. */
export const OUTBOUND_CAPTURE_PORT = 15001;
export const INBOUND_CAPTURE_PORT = 15006;

export const PASSTHROUGH_FILTER_CHAIN = "PassthroughFilterChain";
export const VIRTUAL_OUTBOUND_BLACKHOLE_CHAIN = "virtualOutbound-blackhole";
export const VIRTUAL_OUTBOUND_CATCHALL_TCP_CHAIN = "virtualOutbound-catchall-tcp";
export const VIRTUAL_INBOUND_BLACKHOLE_CHAIN = "virtualInbound-blackhole";
export const VIRTUAL_INBOUND_CATCHALL_HTTP_CHAIN = "virtualInbound-catchall-http";

/** Application protocols the HTTP inspector reports for plaintext HTTP (Istio's plaintextHTTPALPNs). */
export const PLAINTEXT_HTTP_ALPNS: readonly string[] = ["http/1.1", "h2c"];
export const RAW_BUFFER = "raw_buffer";
export const TLS_TRANSPORT = "tls";

const TYPE = "type.googleapis.com/";

export function typed(messageName: string, fields: JsonObject = {}): JsonObject {
  return { "@type": `${TYPE}${messageName}`, ...fields };
}

export const TLS_INSPECTOR: JsonObject = {
  name: "envoy.filters.listener.tls_inspector",
  typed_config: typed("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"),
};
export const HTTP_INSPECTOR_NAME = "envoy.filters.listener.http_inspector";
export const HTTP_INSPECTOR: JsonObject = {
  name: HTTP_INSPECTOR_NAME,
  typed_config: typed("envoy.extensions.filters.listener.http_inspector.v3.HttpInspector"),
};
export const ORIGINAL_DST: JsonObject = {
  name: "envoy.filters.listener.original_dst",
  typed_config: typed("envoy.extensions.filters.listener.original_dst.v3.OriginalDst"),
};

export function socketAddress(address: string, port: number): JsonObject {
  return { socket_address: { address, port_value: port } };
}

/** Drops undefined values so objects stay valid proto3 JSON. */
export function compact(object: Record<string, Json | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value;
  return out;
}

/** Istio's filterChainOpts: match criteria plus either network filters or a ready HCM filter. */
export interface ChainOptions {
  name?: string;
  sniHosts?: readonly string[];
  destinationCidrs?: readonly string[];
  applicationProtocols?: readonly string[];
  transportProtocol?: string;
  destinationPort?: number;
  /** Complete network filter list (TCP proxy stacks, or […network filters, HCM]). */
  filters: JsonObject[];
  transportSocket?: JsonObject;
  metadata?: JsonObject;
  /** Set for chains that terminate HTTP (used to decide on the HTTP inspector). */
  http?: boolean;
}

/** True when the chain has no match criteria (Istio's `isMatchAll`; "*" SNI counts as none). */
export function isMatchAll(chain: ChainOptions): boolean {
  return (
    (!chain.sniHosts?.length || chain.sniHosts.includes("*")) &&
    !chain.applicationProtocols?.length &&
    !chain.transportProtocol &&
    !chain.destinationCidrs?.length &&
    chain.destinationPort === undefined
  );
}

function cidrRange(cidr: string): JsonObject {
  const [address = cidr, length] = cidr.split("/");
  const full = address.includes(":") ? 128 : 32;
  return { address_prefix: address, prefix_len: length === undefined ? full : Number(length) };
}

/** Istio's `toFilterChainMatch`: sorted server names (none when "*"), sorted prefix ranges. */
export function filterChainMatch(chain: ChainOptions): JsonObject {
  const match: JsonObject = {};
  if (chain.destinationPort !== undefined) match.destination_port = chain.destinationPort;
  const cidrs = [...(chain.destinationCidrs ?? [])].sort().filter((c) => !c.startsWith("0.0.0.0"));
  if (cidrs.length) match.prefix_ranges = cidrs.map(cidrRange);
  if (chain.sniHosts?.length && !chain.sniHosts.includes("*"))
    match.server_names = [...chain.sniHosts].sort();
  if (chain.transportProtocol) match.transport_protocol = chain.transportProtocol;
  if (chain.applicationProtocols?.length)
    match.application_protocols = [...chain.applicationProtocols];
  return match;
}

export function filterChain(chain: ChainOptions, withMatch = true): JsonObject {
  return compact({
    name: chain.name,
    filter_chain_match: withMatch && !isMatchAll(chain) ? filterChainMatch(chain) : undefined,
    filters: chain.filters,
    transport_socket: chain.transportSocket,
    metadata: chain.metadata,
  });
}

/** Istio's chain conflict test used when merging TCP chains into one listener. */
export function chainsConflict(a: ChainOptions, b: ChainOptions): boolean {
  const set = (values: readonly string[] | undefined, drop: (v: string) => boolean) =>
    [...new Set((values ?? []).filter((v) => !drop(v)))].sort().join(",");
  return (
    (a.transportProtocol ?? "") === (b.transportProtocol ?? "") &&
    (a.applicationProtocols ?? []).join(",") === (b.applicationProtocols ?? []).join(",") &&
    set(a.sniHosts, (v) => v === "*") === set(b.sniHosts, (v) => v === "*") &&
    set(a.destinationCidrs, (v) => v === "*" || v.startsWith("0.0.0.0")) ===
      set(b.destinationCidrs, (v) => v === "*" || v.startsWith("0.0.0.0"))
  );
}

/** Whether the local runtime's bound listeners are wanted (DESIGN §3: no iptables capture). */
export type TranslateMode = "standard" | "local";

/** What every listener builder reads: the (scoped) snapshot, the proxy, its scope and the mode. */
export interface ListenerContext {
  snapshot: MeshSnapshot;
  proxy: ProxyNode;
  scope: SidecarScope;
  mode: TranslateMode;
}

export function proxyIp(ips: readonly string[]): string {
  return ips[0] ?? "127.0.0.1";
}

/** A ListenerFilterChainMatchPredicate matching any of `ports` (Istio's listenerPredicateExcludePorts). */
export function destinationPortsPredicate(ports: readonly number[]): JsonObject {
  const rules: JsonObject[] = ports.map((p) => ({
    destination_port_range: { start: p, end: p + 1 },
  }));
  return rules.length === 1 ? rules[0]! : { or_match: { rules } };
}
