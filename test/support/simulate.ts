// Traffic simulation over one proxy's translated resources (Istio's pilot/pkg/simulation): pick the
// listener and filter chain as Envoy would, then route with the proxy's own engine (src/proxy/routing).
import { BlockList, isIP, isIPv6 } from "node:net";
import { expect } from "vitest";
import type { ProxyResources } from "../../src/control-plane/translate/proxy-resources.ts";
import {
  applyRequestHeaderMutations,
  applyResponseHeaderMutations,
  decodeRouteConfiguration,
  type MutableHeaders,
  mostSpecificPerFilterConfig,
  type RandomSource,
  type RouteAction,
  releaseRouteConfiguration,
  selectRoute,
} from "../../src/proxy/routing/index.ts";
import type { JsonObject } from "../../src/xds/proto-json.ts";

export interface Call {
  /** Destination IP (the original destination); unknown "1.3.3.7" when absent. */
  address?: string;
  port: number;
  /** The authority (Host header, or a CONNECT target). */
  host: string;
  /** `:path`; "/" by default ("" for CONNECT). */
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  /** Headers of the upstream response, to which the route's response mutations apply. */
  responseHeaders?: Record<string, string>;
  sni?: string;
  /** ALPN a TLS client offers (read by tls_inspector). */
  alpn?: readonly string[];
  protocol?: "http" | "tcp" | "tls";
}

export interface WeightedClusterResult {
  name: string;
  weight: number;
}

export interface SimulationResult {
  listener: string;
  filterChain?: string;
  routeConfig?: string;
  virtualHost?: string;
  route?: string;
  cluster?: string;
  weightedClusters?: WeightedClusterResult[];
  redirect?: string;
  directResponse?: { status: number; body?: string };
  noRoute?: true;
  /** Why no HTTP or TCP decision was reached: no listener / filter chain, protocol mismatch. */
  error?: string;
  /** The cluster the decision names is not among the proxy's clusters (Envoy's 503 NC). */
  clusterNotFound?: true;
  pathAfterRewrite?: string;
  hostRewrite?: string;
  /** The call's headers after the route's request header mutations. */
  requestHeaders?: MutableHeaders;
  /** `call.responseHeaders` after the route's response header mutations. */
  responseHeaders?: MutableHeaders;
  /** The selected route's action, as compiled by the proxy (its regexes already released). */
  action?: RouteAction;
  /** Most specific typed_per_filter_config of the selection, by filter name. */
  perFilterConfig?: Record<string, JsonObject>;
}

const UNKNOWN_ADDRESS = "1.3.3.7";
const HCM = "envoy.filters.network.http_connection_manager";
const TCP_PROXY = "envoy.filters.network.tcp_proxy";
const TLS_INSPECTOR = "envoy.filters.listener.tls_inspector";
const HTTP_INSPECTOR = "envoy.filters.listener.http_inspector";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null ? (v as Obj) : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

function socket(listener: Obj): { address: string; port: number } {
  const s = obj(obj(listener.address).socket_address);
  return { address: String(s.address ?? ""), port: Number(s.port_value ?? 0) };
}

/**
 * Istio's matchListener: the listener on the exact address and port, else on 0.0.0.0 and the port,
 * else the original-dst `virtualOutbound` (iptables capture). `bind_to_port: false` listeners are
 * reached by original-destination hand-off, which is what this models.
 */
function matchListener(resources: ProxyResources, address: string, port: number): Obj | undefined {
  const listeners = [...resources.listeners.values()] as Obj[];
  const at = (a: string) =>
    listeners.find((l) => socket(l).address === a && socket(l).port === port);
  return (
    at(address) ??
    at("0.0.0.0") ??
    listeners.find((l) => l.name === "virtualOutbound" && l.use_original_dst === true)
  );
}

/** A ListenerFilterChainMatchPredicate, for the destination-port rules Istio writes. */
function predicateHolds(predicate: Obj, port: number): boolean {
  const range = obj(predicate.destination_port_range);
  if (predicate.destination_port_range)
    return port >= Number(range.start) && port < Number(range.end);
  if (predicate.or_match)
    return list(obj(predicate.or_match).rules).some((r) => predicateHolds(r, port));
  if (predicate.and_match)
    return list(obj(predicate.and_match).rules).every((r) => predicateHolds(r, port));
  return predicate.any_match === true;
}

function listenerFilterOn(listener: Obj, name: string, port: number): boolean {
  const filter = list(listener.listener_filters).find((f) => f.name === name);
  return !!filter && !(filter.filter_disabled && predicateHolds(obj(filter.filter_disabled), port));
}

/** Length of the longest prefix range holding `ip`, or -1. */
function prefixMatch(ranges: Obj[], ip: string): number {
  const family = isIPv6(ip) ? "ipv6" : "ipv4";
  let best = -1;
  for (const r of ranges) {
    const prefix = String(r.address_prefix);
    const length = Number(r.prefix_len ?? (family === "ipv6" ? 128 : 32));
    if (isIP(prefix) !== isIP(ip)) continue;
    const block = new BlockList();
    block.addSubnet(prefix, length, family);
    if (block.check(ip, family)) best = Math.max(best, length);
  }
  return best;
}

/** How specifically a chain's server_names hold `sni`: exact beats the longest wildcard; -1 none. */
function sniMatch(names: unknown[], sni: string): number {
  let best = -1;
  for (const name of names.map(String)) {
    if (name === sni) return Number.MAX_SAFE_INTEGER;
    if (name.startsWith("*.") && sni.endsWith(name.slice(1))) best = Math.max(best, name.length);
  }
  return best;
}

/**
 * Envoy's filter-chain sieve, criterion by criterion: among chains that set a criterion, keep
 * the best matching ones; when none matches, keep the chains that do not set it. Source criteria
 * are not modelled (Istio writes none on the outbound side).
 */
function matchFilterChain(listener: Obj, call: Call) {
  const address = call.address ?? UNKNOWN_ADDRESS;
  const tls = call.protocol === "tls" && listenerFilterOn(listener, TLS_INSPECTOR, call.port);
  const alpn: readonly string[] = tls
    ? (call.alpn ?? [])
    : (call.protocol ?? "http") === "http" && listenerFilterOn(listener, HTTP_INSPECTOR, call.port)
      ? ["http/1.1"]
      : [""];
  const criteria: Array<[string, (m: Obj) => number]> = [
    ["destination_port", (m) => (Number(m.destination_port) === call.port ? 0 : -1)],
    ["prefix_ranges", (m) => prefixMatch(list(m.prefix_ranges), address)],
    ["server_names", (m) => sniMatch(m.server_names as unknown[], call.sni ?? "")],
    ["transport_protocol", (m) => (m.transport_protocol === (tls ? "tls" : "raw_buffer") ? 0 : -1)],
    [
      "application_protocols",
      (m) =>
        (m.application_protocols as unknown[]).some((p) => alpn.includes(String(p))) ? 0 : -1,
    ],
  ];
  let chains = list(listener.filter_chains).map((chain, i) => ({ chain, i }));
  for (const [field, score] of criteria) {
    const set = (c: { chain: Obj }) => obj(c.chain.filter_chain_match)[field] !== undefined;
    if (!chains.some(set)) continue;
    const scored = chains
      .filter(set)
      .map((c) => ({ c, s: score(obj(c.chain.filter_chain_match)) }));
    const top = Math.max(...scored.map((x) => x.s));
    chains =
      top >= 0 ? scored.filter((x) => x.s === top).map((x) => x.c) : chains.filter((c) => !set(c));
  }
  if (chains.length > 1) return { error: "multiple filter chains matched" };
  const found = chains[0];
  if (found)
    return { chain: found.chain, name: String(found.chain.name ?? `filter_chains[${found.i}]`) };
  if (listener.default_filter_chain) {
    const chain = obj(listener.default_filter_chain);
    return { chain, name: String(chain.name ?? "default_filter_chain") };
  }
  return { error: "no filter chain matched" };
}

function typedConfigOf(chain: Obj, name: string): Obj | undefined {
  const filter = list(chain.filters).find((f) => f.name === name);
  return filter ? obj(filter.typed_config) : undefined;
}

/** Envoy's weighted pick: a value in [0, total) lands in a cluster's weight interval. */
function pickWeighted(clusters: WeightedClusterResult[], random: RandomSource): string {
  const total = clusters.reduce((sum, c) => sum + c.weight, 0);
  let value = Math.floor(random() * total);
  for (const c of clusters) {
    if (value < c.weight) return c.name;
    value -= c.weight;
  }
  return clusters.at(-1)?.name ?? "";
}

function lowercased(headers: Record<string, string> = {}): MutableHeaders {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function routeHttp(routeConfig: Obj, call: Call, random: RandomSource, out: SimulationResult) {
  const decoded = decodeRouteConfiguration(routeConfig);
  if (!decoded.ok)
    throw new Error(`the proxy rejects ${out.routeConfig}:\n${decoded.errors.join("\n")}`);
  const config = decoded.value;
  try {
    const connect = call.method === "CONNECT";
    const request = {
      authority: call.host,
      path: call.path ?? (connect ? "" : "/"),
      method: call.method ?? "GET",
      scheme: "http",
      headers: lowercased(call.headers),
    };
    const selection = selectRoute(config, request, random);
    if (selection.virtualHost) out.virtualHost = selection.virtualHost.name;
    if (selection.noRoute) {
      out.noRoute = true;
      return;
    }
    const { route, action } = selection;
    out.route = route.name;
    out.action = action;
    if (action.kind === "redirect") out.redirect = selection.redirectUrl;
    if (action.kind === "direct_response") {
      const body = typeof action.body === "string" ? { body: action.body } : {};
      out.directResponse = { status: action.status, ...body };
    }
    if (selection.clusterName) out.cluster = selection.clusterName;
    if (action.kind === "route" && action.cluster.kind === "weighted_clusters")
      out.weightedClusters = action.cluster.weighted.clusters.map((c) => ({
        name: c.name ?? "",
        weight: c.weight,
      }));
    if (selection.pathAfterRewrite !== undefined) out.pathAfterRewrite = selection.pathAfterRewrite;
    if (selection.hostRewrite !== undefined) out.hostRewrite = selection.hostRewrite;
    out.requestHeaders = applyRequestHeaderMutations(selection, lowercased(call.headers));
    out.responseHeaders = applyResponseHeaderMutations(selection, lowercased(call.responseHeaders));
    const names = new Set(
      [config, selection.virtualHost, route, selection.weightedCluster].flatMap((level) =>
        Object.keys(level?.typedPerFilterConfig ?? {}),
      ),
    );
    out.perFilterConfig = {};
    for (const name of names) {
      const entry = mostSpecificPerFilterConfig(config, selection, name);
      if (entry) out.perFilterConfig[name] = entry.config;
    }
  } finally {
    releaseRouteConfiguration(config);
  }
}

/**
 * Simulates `call` through the proxy that received `resources`. `random` drives weighted picks
 * (default 0: the first cluster's side). HTTP routing runs the proxy's own engine; the route
 * configuration is compiled per call and released before returning. Simplifications: listener
 * filters are read only for TLS/HTTP inspection (tls_inspector → "tls" transport for TLS calls,
 * http_inspector → ALPN "http/1.1" for plaintext HTTP, honouring destination-port
 * `filter_disabled`; a TLS call's ALPN is `call.alpn`); source criteria and transport sockets
 * (mTLS) are not modelled;
 * a tcp_proxy's weighted pick mirrors Envoy's; the HCM's filters (fault, CORS, RBAC…) do not run.
 */
export function simulate(
  resources: ProxyResources,
  call: Call,
  random: RandomSource = () => 0,
): SimulationResult {
  const listener = matchListener(resources, call.address ?? UNKNOWN_ADDRESS, call.port);
  if (!listener) return { listener: "", error: "no listener matched" };
  const out: SimulationResult = { listener: String(listener.name) };
  const matched = matchFilterChain(listener, call);
  if (!matched.chain) return { ...out, error: matched.error };
  out.filterChain = matched.name;
  const hcm = typedConfigOf(matched.chain, HCM);
  const tcp = typedConfigOf(matched.chain, TCP_PROXY);
  if (hcm) {
    // TLS or raw TCP bytes into a plaintext HTTP connection manager cannot be decoded.
    if ((call.protocol ?? "http") !== "http" && !matched.chain.transport_socket)
      return { ...out, error: "protocol error" };
    const rds = obj(hcm.rds).route_config_name;
    out.routeConfig = typeof rds === "string" ? rds : String(obj(hcm.route_config).name ?? "");
    const routeConfig = typeof rds === "string" ? resources.routes.get(rds) : hcm.route_config;
    if (!routeConfig) return { ...out, error: `no route configuration ${out.routeConfig}` };
    routeHttp(obj(routeConfig), call, random, out);
  } else if (tcp) {
    const weighted = list(obj(tcp.weighted_clusters).clusters);
    if (weighted.length > 0) {
      out.weightedClusters = weighted.map((c) => ({
        name: String(c.name),
        weight: Number(c.weight),
      }));
      out.cluster = pickWeighted(out.weightedClusters, random);
    } else out.cluster = String(tcp.cluster);
  } else return { ...out, error: "the filter chain has neither an HCM nor a tcp_proxy" };
  if (out.cluster && !resources.clusters.has(out.cluster)) out.clusterNotFound = true;
  return out;
}

/**
 * Asserts the fields `want` names (Istio's non-strict Result.Matches) and, unless `want` says
 * otherwise, that the call reached a decision naming a known cluster. Returns the full result.
 */
export function expectCall(
  resources: ProxyResources,
  call: Call,
  want: Partial<SimulationResult>,
  random?: RandomSource,
): SimulationResult {
  const got = simulate(resources, call, random);
  const picked = Object.fromEntries(
    Object.keys(want).map((k) => [k, got[k as keyof SimulationResult]]),
  );
  const label = `${call.method ?? "GET"} ${call.host}${call.path ?? ""} (port ${call.port})`;
  expect(picked, label).toEqual(want);
  if (!("error" in want)) expect(got.error, label).toBeUndefined();
  if (!("clusterNotFound" in want))
    expect(got.clusterNotFound, `${label} → ${got.cluster}`).toBeUndefined();
  return got;
}

/**
 * Sweeps the random source over `steps` evenly spaced values in [0, 1) and counts the clusters
 * chosen: the weighted split as the proxy would realise it.
 */
export function sweepClusters(
  resources: ProxyResources,
  call: Call,
  steps = 100,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < steps; i++) {
    const cluster = simulate(resources, call, () => i / steps).cluster ?? "(none)";
    counts[cluster] = (counts[cluster] ?? 0) + 1;
  }
  return counts;
}
