// Selects a connection's filter chain the way Envoy's FilterChainManagerImpl does: at each level
// only the most specific matching branch is followed (no backtracking to less specific ones), and
// the listener's default_filter_chain serves connections no chain matches.
import { type ParsedIp, parseIp } from "./cidr.ts";
import type {
  AppProtocolMap,
  DirectSourceTable,
  ServerNameMap,
  SourcePortMap,
  TransportMap,
} from "./filter-chain-index.ts";
import type { ConnectionInfo, FilterChain, ListenerConfig } from "./types.ts";

// Envoy matches non-IP addresses (pipes) as if they were 255.255.255.255.
const FAKE_IP: ParsedIp = { v6: false, value: 0xffff_ffffn };

function ip(text: string | undefined): ParsedIp {
  return (text === undefined ? undefined : parseIp(text)) ?? FAKE_IP;
}

function isLoopback(a: ParsedIp): boolean {
  return a.v6 ? a.value === 1n : a.value >> 24n === 127n;
}

function bySourcePort(ports: SourcePortMap, c: ConnectionInfo): FilterChain | undefined {
  return ports.get(c.sourcePort) ?? ports.get(0);
}

function byDirectSource(table: DirectSourceTable, c: ConnectionInfo): FilterChain | undefined {
  const types = table.lookup(ip(c.directSourceIp ?? c.sourceIp));
  if (!types) return undefined;
  const source = ip(c.sourceIp);
  const dst = ip(c.destinationIp);
  // Envoy's isSameIpOrLoopback: a loopback peer or one with the listener-side address.
  const local = isLoopback(source) || (dst.v6 === source.v6 && dst.value === source.value);
  const specific = local ? types[1] : types[2];
  const srcTable = specific ?? types[0];
  const ports = srcTable?.lookup(source);
  return ports ? bySourcePort(ports, c) : undefined;
}

function byApplicationProtocol(map: AppProtocolMap, c: ConnectionInfo): FilterChain | undefined {
  for (const alpn of c.applicationProtocols) {
    const next = map.get(alpn);
    if (next) return byDirectSource(next, c);
  }
  const any = map.get("");
  return any ? byDirectSource(any, c) : undefined;
}

function byTransport(map: TransportMap, c: ConnectionInfo): FilterChain | undefined {
  const next = map.get(c.transportProtocol) ?? map.get("");
  return next ? byApplicationProtocol(next, c) : undefined;
}

function byServerName(map: ServerNameMap, c: ConnectionInfo): FilterChain | undefined {
  const name = (c.serverName ?? "").toLowerCase();
  const exact = map.get(name);
  if (exact) return byTransport(exact, c);
  // Wildcards from the longest suffix: "www.example.com" tries ".example.com", then ".com".
  let dot = name.indexOf(".", 1);
  while (dot !== -1 && dot < name.length - 1) {
    const wildcard = map.get(name.slice(dot));
    if (wildcard) return byTransport(wildcard, c);
    dot = name.indexOf(".", dot + 1);
  }
  const any = map.get("");
  return any ? byTransport(any, c) : undefined;
}

/** The filter chain Envoy would pick for `connection`, or undefined (Envoy closes it). */
export function selectFilterChain(
  listener: Pick<ListenerConfig, "chainIndex" | "defaultFilterChain">,
  connection: ConnectionInfo,
): FilterChain | undefined {
  const ports = listener.chainIndex.ports;
  const ipTable = ports.get(connection.destinationPort) ?? ports.get(0);
  const names = ipTable?.lookup(ip(connection.destinationIp));
  return (names && byServerName(names, connection)) ?? listener.defaultFilterChain;
}
