// One FilterChain: its FilterChainMatch (validated as Envoy does: ports 1–65535, CIDRs, no
// partial SNI wildcards) and its network filters, of which the last must be terminal.
import type { Fields } from "../routing/decode-reader.ts";
import { decodeDownstreamTransportSocket } from "../tls/decode-tls-context.ts";
import { compileCidr } from "./cidr.ts";
import type { HcmDecodeOptions } from "./decode-hcm.ts";
import { decodeNetworkFilter } from "./decode-network-filters.ts";
import { isValidServerName } from "./filter-chain-index.ts";
import type { CidrRange, FilterChain, FilterChainMatch, NetworkFilter } from "./types.ts";

const SOURCE_TYPES = ["ANY", "SAME_IP_OR_LOOPBACK", "EXTERNAL"] as const;

function cidrRanges(f: Fields, field: string): CidrRange[] {
  const out: CidrRange[] = [];
  for (const r of f.objects(field)) {
    const address = r.string("address_prefix", 1);
    const prefixLen = r.optUint("prefix_len", 128) ?? 0;
    r.finish();
    if (address && !compileCidr(address, prefixLen)) {
      r.error(`${address}/${prefixLen} is not a valid CIDR range`);
    }
    out.push({ address, prefixLen });
  }
  return out;
}

function port(f: Fields, field: string): number | undefined {
  const p = f.optUint(field, 65535);
  if (p === 0) f.error("must be between 1 and 65535", field);
  return p || undefined;
}

export function decodeFilterChainMatch(f: Fields | undefined): FilterChainMatch {
  const destinationPort = f ? port(f, "destination_port") : undefined;
  const match: FilterChainMatch = {
    prefixRanges: f ? cidrRanges(f, "prefix_ranges") : [],
    serverNames: f?.strings("server_names") ?? [],
    transportProtocol: f?.string("transport_protocol") ?? "",
    applicationProtocols: f?.strings("application_protocols") ?? [],
    directSourcePrefixRanges: f ? cidrRanges(f, "direct_source_prefix_ranges") : [],
    sourceType: f?.enumValue("source_type", SOURCE_TYPES) ?? "ANY",
    sourcePrefixRanges: f ? cidrRanges(f, "source_prefix_ranges") : [],
    sourcePorts: [],
  };
  if (destinationPort !== undefined) match.destinationPort = destinationPort;
  if (!f) return match;
  for (const [v, path] of f.list("source_ports")) {
    if (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65535) {
      match.sourcePorts.push(v);
    } else f.ctx.errors.push(`${path}: must be an integer between 1 and 65535`);
  }
  match.serverNames.forEach((name, i) => {
    if (!isValidServerName(name)) {
      f.ctx.errors.push(`${f.at("server_names")}[${i}]: partial wildcards are not supported`);
    }
  });
  // Never implemented by Envoy (#not-implemented-hide), so ignored as Envoy ignores them.
  f.skip("address_suffix", "suffix_len");
  f.finish();
  return match;
}

const TERMINAL = new Set(["http_connection_manager", "tcp_proxy"]);

export function decodeFilterChain(f: Fields, options: HcmDecodeOptions): FilterChain {
  const chain: FilterChain = {
    name: f.string("name"),
    match: decodeFilterChainMatch(f.object("filter_chain_match")),
    filters: [],
  };
  const paths: string[] = [];
  for (const nf of f.objects("filters")) {
    const filter: NetworkFilter | undefined = decodeNetworkFilter(nf, options);
    if (filter) {
      chain.filters.push(filter);
      paths.push(nf.path);
    }
  }
  const terminal = chain.filters.at(-1)?.kind;
  chain.filters.forEach((filter, i) => {
    if (i < chain.filters.length - 1 && TERMINAL.has(filter.kind)) {
      f.ctx.errors.push(`${paths[i]}: terminal filter ${filter.kind} must be the last`);
    }
    // The exchange rewrites the first bytes of the stream, which only the TCP proxy carries on.
    if (filter.kind === "metadata_exchange" && terminal === "http_connection_manager") {
      f.ctx.errors.push(
        `${paths[i]}: istio.metadata_exchange is supported only on a chain ending in tcp_proxy`,
      );
    }
  });
  const socket = f.object("transport_socket");
  const tls = socket && decodeDownstreamTransportSocket(socket);
  if (tls) chain.transportSocket = tls;
  const handshakeTimeout = f.duration("transport_socket_connect_timeout");
  if (handshakeTimeout) chain.transportSocketConnectTimeoutMs = handshakeTimeout;
  if (f.raw("use_proxy_proto") === true)
    f.error("PROXY protocol is not supported", "use_proxy_proto");
  f.unsupported("on_demand_configuration");
  f.skip("metadata");
  f.finish();
  return chain;
}
