// Which transport socket a connection to one host uses, as Envoy's TransportSocketMatcher picks
// it: the first transport_socket_match whose `match` labels all equal the endpoint's
// `envoy.transport_socket_match` metadata (Istio's auto-mTLS: `{tlsMode: istio}` → its TLS
// context, `{}` → raw_buffer), else the cluster's own transport_socket.
import type { JsonObject } from "../../xds/proto-json.ts";
import type { UpstreamTransportSocket } from "../tls/tls-context.ts";
import type { ClusterConfig } from "./cluster-config.ts";
import type { Host } from "./lb/host-set.ts";

export const TRANSPORT_SOCKET_MATCH_METADATA = "envoy.transport_socket_match";

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return typeof a === "object" && a !== null && JSON.stringify(a) === JSON.stringify(b);
}

function labelsMatch(match: JsonObject, labels: Readonly<Record<string, unknown>>): boolean {
  for (const key in match) if (!sameValue(match[key], labels[key])) return false;
  return true;
}

/** The TLS settings for connections to `host`, or undefined for raw_buffer. */
export function transportSocketFor(
  config: ClusterConfig,
  host: Host,
): UpstreamTransportSocket | undefined {
  if (config.transportSocketMatches?.length) {
    const labels = host.metadata[TRANSPORT_SOCKET_MATCH_METADATA] ?? {};
    for (const entry of config.transportSocketMatches)
      if (labelsMatch(entry.match, labels)) return entry.transportSocket;
  }
  return config.transportSocket;
}
