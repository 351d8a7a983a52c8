// EDS ClusterLoadAssignment JSON → endpoint list, then → HostSet reusing the previous Host objects.
import { isIP } from "node:net";
import { type Decoded, type Fields, readerFor } from "./decode-fields.ts";
import {
  createHost,
  DEFAULT_OVERPROVISIONING_FACTOR,
  type HealthStatus,
  type Host,
  type HostInit,
  type HostSet,
  hostAddress,
  type LocalityWeight,
} from "./lb/host-set.ts";

/** A decoded ClusterLoadAssignment: plain data, no Host objects (see buildHostSet). */
export interface LoadAssignment {
  readonly clusterName: string;
  readonly endpoints: readonly HostInit[];
  readonly localityWeights: readonly LocalityWeight[];
  /** Percent, as HostSet.overprovisioningFactor. */
  readonly overprovisioningFactor: number;
}

/** "ip": EDS and STATIC need literal addresses; "dns": STRICT_DNS/LOGICAL_DNS take hostnames. */
export type AddressKind = "ip" | "dns";

const HEALTH: readonly HealthStatus[] = [
  "UNKNOWN",
  "HEALTHY",
  "UNHEALTHY",
  "DRAINING",
  "TIMEOUT",
  "DEGRADED",
];
const MAX_PRIORITY = 128;
const MAX_PORT = 65535;

function readMetadata(f: Fields): Record<string, Record<string, unknown>> {
  const metadata = f.object("metadata");
  if (!metadata) return {};
  metadata.skip("typed_filter_metadata");
  const out: Record<string, Record<string, unknown>> = {};
  for (const [key, value, path] of metadata.entries("filter_metadata")) {
    if (typeof value === "object" && value !== null && !Array.isArray(value))
      out[key] = value as Record<string, unknown>;
    else f.ctx.errors.push(`${path}: expected an object (Struct)`);
  }
  return out;
}

/** Endpoint.address → address and port, or undefined (with errors). */
function readSocketAddress(
  f: Fields,
  kind: AddressKind,
): { address: string; port: number } | undefined {
  const address = f.object("address");
  if (!address) {
    f.error("is required", "address");
    return undefined;
  }
  for (const other of ["pipe", "envoy_internal_address"])
    address.unsupported(other, "only socket_address endpoints are supported");
  const socket = address.object("socket_address");
  if (!socket) {
    if (!address.has("pipe") && !address.has("envoy_internal_address"))
      address.error("socket_address is required");
    return undefined;
  }
  const host = socket.string("address", 1);
  if (socket.enumValue("protocol", ["TCP", "UDP"]) === "UDP")
    socket.error("UDP endpoints are not supported", "protocol");
  socket.unsupported("named_port", "named ports are not supported (use port_value)");
  if (socket.string("resolver_name") !== "")
    socket.error("custom resolvers are not supported", "resolver_name");
  socket.skip("ipv4_compat", "network_namespace_filepath");
  const port = socket.uint("port_value", 0, MAX_PORT);
  if (kind === "ip" && host !== "" && isIP(host) === 0)
    socket.error(`${JSON.stringify(host)} is not an IP address`, "address");
  return host === "" ? undefined : { address: host, port };
}

function readLbEndpoint(
  f: Fields,
  kind: AddressKind,
  priority: number,
  locality: HostInit["locality"],
): HostInit | undefined {
  f.unsupported("endpoint_name", "named endpoints are not supported");
  const endpoint = f.object("endpoint");
  if (!endpoint) {
    if (!f.has("endpoint_name")) f.error("is required", "endpoint");
    return undefined;
  }
  endpoint.skip("health_check_config", "additional_addresses");
  const hostname = endpoint.string("hostname");
  const socket = readSocketAddress(endpoint, kind);
  const weight = f.optUint("load_balancing_weight");
  if (weight === 0) f.error("must be at least 1", "load_balancing_weight");
  const health = f.enumValue("health_status", HEALTH);
  const metadata = readMetadata(f);
  if (!socket) return undefined;
  return { ...socket, hostname, weight: weight || 1, health, locality, priority, metadata };
}

/** Reads a ClusterLoadAssignment message (EDS resource or Cluster.load_assignment). */
export function readLoadAssignment(f: Fields, kind: AddressKind): LoadAssignment {
  const clusterName = f.string("cluster_name");
  const endpoints: HostInit[] = [];
  const localityWeights: LocalityWeight[] = [];
  for (const group of f.objects("endpoints")) {
    const priority = group.uint("priority");
    if (priority > MAX_PRIORITY)
      group.error(`must be at most ${MAX_PRIORITY}, got ${priority}`, "priority");
    const loc = group.object("locality");
    const locality = {
      region: loc?.string("region") ?? "",
      zone: loc?.string("zone") ?? "",
      subZone: loc?.string("sub_zone") ?? "",
    };
    const weight = group.optUint("load_balancing_weight");
    if (weight === 0) group.error("must be at least 1", "load_balancing_weight");
    else if (weight !== undefined) localityWeights.push({ priority, locality, weight });
    group.unsupported("leds_cluster_locality_config", "LEDS is not supported");
    group.skip("proximity", "metadata");
    for (const lbEndpoint of group.objects("lb_endpoints")) {
      const init = readLbEndpoint(lbEndpoint, kind, Math.min(priority, MAX_PRIORITY), locality);
      if (init) endpoints.push(init);
    }
  }
  f.unsupported("named_endpoints", "named endpoints are not supported");
  let overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR;
  const policy = f.object("policy");
  if (policy) {
    if (policy.list("drop_overloads").length > 0)
      policy.error("drop_overloads is not supported", "drop_overloads");
    const factor = policy.optUint("overprovisioning_factor");
    if (factor === 0) policy.error("must be greater than 0", "overprovisioning_factor");
    else if (factor !== undefined) overprovisioningFactor = factor;
    policy.skip("endpoint_stale_after", "weighted_priority_health");
  }
  return { clusterName, endpoints, localityWeights, overprovisioningFactor };
}

/** Decodes an EDS ClusterLoadAssignment (addresses must be IP literals), collecting every error. */
export function decodeLoadAssignment(json: unknown): Decoded<LoadAssignment> {
  const errors: string[] = [];
  const f = readerFor(errors, json, "");
  const value = f ? readLoadAssignment(f, "ip") : undefined;
  if (f && value?.clusterName === "") f.error("is required", "cluster_name");
  return value && errors.length === 0 ? { ok: true, value } : { ok: false, errors };
}

function sameEndpoint(host: Host, init: HostInit): boolean {
  return (
    host.hostname === (init.hostname ?? "") &&
    host.weight === (init.weight ?? 1) &&
    host.health === (init.health ?? "HEALTHY") &&
    host.priority === (init.priority ?? 0) &&
    host.locality.region === (init.locality?.region ?? "") &&
    host.locality.zone === (init.locality?.zone ?? "") &&
    host.locality.subZone === (init.locality?.subZone ?? "") &&
    JSON.stringify(host.metadata) === JSON.stringify(init.metadata ?? {})
  );
}

/**
 * The HostSet of `assignment`. Hosts of `previous` are matched by address:port: an unchanged
 * endpoint keeps its Host object; a changed one (weight, health, locality…) gets a new object
 * that shares the old one's stats and ejection, so active requests and outlier state carry over.
 */
export function buildHostSet(assignment: LoadAssignment, previous?: HostSet): HostSet {
  const old = new Map<string, Host[]>();
  for (const host of previous?.hosts ?? []) {
    const key = hostAddress(host);
    const list = old.get(key);
    if (list) list.push(host);
    else old.set(key, [host]);
  }
  const hosts = assignment.endpoints.map((init) => {
    const prior = old.get(hostAddress({ address: init.address, port: init.port }))?.shift();
    if (!prior) return createHost(init);
    if (sameEndpoint(prior, init)) return prior;
    return { ...createHost(init), stats: prior.stats, ejected: prior.ejected };
  });
  return {
    hosts,
    localityWeights: assignment.localityWeights,
    overprovisioningFactor: assignment.overprovisioningFactor,
  };
}

/** decodeLoadAssignment then buildHostSet: the EDS update path of the cluster manager. */
export function decodeEndpoints(
  json: unknown,
  previous?: HostSet,
): Decoded<{ clusterName: string; hostSet: HostSet }> {
  const decoded = decodeLoadAssignment(json);
  if (!decoded.ok) return decoded;
  const hostSet = buildHostSet(decoded.value, previous);
  return { ok: true, value: { clusterName: decoded.value.clusterName, hostSet } };
}
