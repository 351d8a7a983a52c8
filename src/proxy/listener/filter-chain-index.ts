// Builds Envoy's filter-chain lookup tree once per listener (port → destination IP → server name
// → transport → ALPN → direct source IP → source type → source IP → source port), rejecting
// overlapping chains and partial wildcards exactly where Envoy's FilterChainManagerImpl does.
import { ANY_CIDRS, CidrTable, type CompiledCidr, compileCidr } from "./cidr.ts";
import type { CidrRange, FilterChain, SourceType } from "./types.ts";

export type SourcePortMap = Map<number, FilterChain>;
/** Indexed by SourceType: 0 ANY, 1 SAME_IP_OR_LOOPBACK, 2 EXTERNAL. */
export type SourceTypeArray = [
  CidrTable<SourcePortMap> | undefined,
  CidrTable<SourcePortMap> | undefined,
  CidrTable<SourcePortMap> | undefined,
];
export type DirectSourceTable = CidrTable<SourceTypeArray>;
export type AppProtocolMap = Map<string, DirectSourceTable>;
export type TransportMap = Map<string, AppProtocolMap>;
/** Exact names as-is, wildcards "*.example.com" stored as ".example.com", "" for any. */
export type ServerNameMap = Map<string, TransportMap>;
/** Destination port → destination IP table; port 0 holds chains without a port. */
export interface FilterChainIndex {
  ports: Map<number, CidrTable<ServerNameMap>>;
}

const SOURCE_TYPES: readonly SourceType[] = ["ANY", "SAME_IP_OR_LOOPBACK", "EXTERNAL"];

function cidrs(ranges: readonly CidrRange[]): readonly CompiledCidr[] {
  if (ranges.length === 0) return ANY_CIDRS;
  // Invalid ranges were reported at decode time; they never match.
  return ranges.flatMap((r) => compileCidr(r.address, r.prefixLen) ?? []);
}

function child<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

function tableChild<V>(table: CidrTable<V>, cidr: CompiledCidr, make: () => V): V {
  let v = table.get(cidr);
  if (v === undefined) {
    v = make();
    table.set(cidr, v);
  }
  return v;
}

const orAny = <T>(list: readonly T[], any: T): readonly T[] => (list.length ? list : [any]);

/** Lower-cased server name key: "*.example.com" → ".example.com". */
export function serverNameKey(name: string): string {
  const lower = name.toLowerCase();
  return lower.startsWith("*.") ? lower.slice(1) : lower;
}

/** Envoy: a server name may only be a full name or "*.suffix". */
export function isValidServerName(name: string): boolean {
  return !name.includes("*") || (name.startsWith("*.") && !name.slice(1).includes("*"));
}

/**
 * Inserts every chain under every combination of its criteria. Errors (pushed with the chain's
 * path) when two chains would occupy the same leaf, as Envoy rejects such listeners.
 */
export function buildFilterChainIndex(
  chains: readonly FilterChain[],
  paths: readonly string[],
  errors: string[],
): FilterChainIndex {
  const index: FilterChainIndex = { ports: new Map() };
  const owners = new Map<FilterChain, string>();
  const tables: Array<CidrTable<unknown>> = [];
  const newTable = <V>(): CidrTable<V> => {
    const t = new CidrTable<V>();
    tables.push(t as CidrTable<unknown>);
    return t;
  };
  chains.forEach((chain, i) => {
    const m = chain.match;
    const path = paths[i] ?? `filter_chains[${i}]`;
    const clash = new Set<string>();
    const ipTable = child(index.ports, m.destinationPort ?? 0, newTable<ServerNameMap>);
    for (const dst of cidrs(m.prefixRanges)) {
      const names = tableChild(ipTable, dst, () => new Map() as ServerNameMap);
      for (const sn of orAny(m.serverNames, "")) {
        const transports = child(names, serverNameKey(sn), () => new Map() as TransportMap);
        const protocols = child(transports, m.transportProtocol, () => new Map() as AppProtocolMap);
        for (const alpn of orAny(m.applicationProtocols, "")) {
          const direct = child(protocols, alpn, newTable<SourceTypeArray>);
          for (const dsrc of cidrs(m.directSourcePrefixRanges)) {
            const types = tableChild(
              direct,
              dsrc,
              (): SourceTypeArray => [undefined, undefined, undefined],
            );
            const t = SOURCE_TYPES.indexOf(m.sourceType);
            types[t] ??= newTable<SourcePortMap>();
            const srcTable = types[t];
            for (const src of cidrs(m.sourcePrefixRanges)) {
              const ports = tableChild(srcTable, src, () => new Map() as SourcePortMap);
              for (const port of orAny(m.sourcePorts, 0)) {
                const existing = ports.get(port);
                if (existing && existing !== chain) clash.add(owners.get(existing) ?? "?");
                else ports.set(port, chain);
              }
            }
          }
        }
      }
    }
    owners.set(chain, chain.name ? `${path} (${chain.name})` : path);
    for (const other of clash) {
      errors.push(`${path}: multiple filter chains with the same matching rules (also ${other})`);
    }
  });
  for (const t of tables) t.freeze();
  return index;
}
