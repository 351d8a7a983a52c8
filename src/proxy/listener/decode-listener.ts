// LDS Listener JSON → ListenerConfig, collecting every error with its field path (the proxy
// NACKs with all of them): address, listener filters, filter chains, default chain, API listener.
import { Fields } from "../routing/decode-reader.ts";
import { Re2Lease } from "../routing/re2-pool.ts";
import { parseIp } from "./cidr.ts";
import { decodeFilterChain } from "./decode-filter-chain.ts";
import type { HcmDecodeOptions } from "./decode-hcm.ts";
import { decodeHcm } from "./decode-hcm.ts";
import {
  decodeListenerFilter,
  INJECTED_TLS_INSPECTOR,
  typeName,
} from "./decode-listener-filters.ts";
import { HCM_TYPE } from "./decode-network-filters.ts";
import { buildFilterChainIndex } from "./filter-chain-index.ts";
import type { FilterChain, HcmConfig, ListenerConfig } from "./types.ts";

export type ListenerDecodeOptions = Omit<HcmDecodeOptions, "apiListener">;
export type ListenerDecodeResult =
  | { ok: true; value: ListenerConfig }
  | { ok: false; errors: string[] };

const DIRECTIONS = ["UNSPECIFIED", "INBOUND", "OUTBOUND"] as const;

/** Socket options, buffers and stats: accepted, no effect on what the proxy does with traffic. */
const SKIPPED = [
  "stat_prefix",
  "metadata",
  "per_connection_buffer_limit_bytes",
  "drain_type",
  "deprecated_v1",
  "transparent",
  "freebind",
  "socket_options",
  "tcp_fast_open_queue_length",
  "tcp_backlog_size",
  "reuse_port",
  "enable_reuse_port",
  "enable_mptcp",
  "ignore_global_conn_limit",
  "bypass_overload_manager",
  "max_connections_to_accept_per_socket_event",
  "connection_balance_config",
  "access_log",
];

function decodeAddress(f: Fields): ListenerConfig["address"] {
  const a = f.object("address");
  if (!a) return undefined;
  const kind = a.oneof(["socket_address", "pipe", "envoy_internal_address"] as const);
  if (kind !== "socket_address") {
    a.error("only socket_address is supported");
    a.skip("pipe", "envoy_internal_address");
    a.finish();
    return undefined;
  }
  const s = a.object("socket_address");
  a.finish();
  if (!s) return undefined;
  const address = s.string("address", 1);
  if (address && !parseIp(address)) s.error("must be an IP address", "address");
  if (s.enumValue("protocol", ["TCP", "UDP"] as const) === "UDP")
    s.error("UDP is not supported", "protocol");
  const port = s.uint("port_value", 0, 65535);
  s.unsupported("named_port");
  s.unsupported("resolver_name");
  s.skip("ipv4_compat");
  s.finish();
  return { address, port };
}

function decodeApiListener(f: Fields, options: ListenerDecodeOptions): HcmConfig | undefined {
  const api = f.object("api_listener");
  const any = api?.object("api_listener");
  api?.finish();
  if (!any) return undefined;
  const url = any.string("@type", 1);
  if (url && typeName(url) !== HCM_TYPE) {
    any.error(`unsupported API listener type ${url}`);
    return undefined;
  }
  return decodeHcm(any, { ...options, apiListener: true });
}

/** Envoy injects a TLS inspector when a chain matches on TLS properties (ListenerImpl). */
function needsInjectedTlsInspector(chains: readonly FilterChain[]): boolean {
  return chains.some(
    ({ match: m }) =>
      m.transportProtocol === "tls" ||
      (m.transportProtocol === "" &&
        (m.serverNames.length > 0 || m.applicationProtocols.length > 0)),
  );
}

export function decodeListener(
  json: unknown,
  options: ListenerDecodeOptions = {},
): ListenerDecodeResult {
  const ctx = { errors: [] as string[], regexes: new Re2Lease() };
  const f = Fields.of(ctx, json, "");
  if (!f) return { ok: false, errors: ctx.errors };
  f.skip(...SKIPPED);
  const name = f.string("name", 1);
  const address = decodeAddress(f);
  const apiListener = decodeApiListener(f, options);
  if (!address && !apiListener) f.error("address is required", "address");
  const listenerFilters = f
    .objects("listener_filters")
    .flatMap((lf) => decodeListenerFilter(lf) ?? []);
  const chainFields = f.objects("filter_chains");
  const filterChains = chainFields.map((c) => decodeFilterChain(c, options));
  const def = f.object("default_filter_chain");
  const defaultFilterChain = def ? decodeFilterChain(def, options) : undefined;
  if (!apiListener && filterChains.length === 0 && !defaultFilterChain) {
    f.error("no filter chains specified", "filter_chains");
  }
  for (const field of ["additional_addresses", "filter_chain_matcher", "udp_listener_config"]) {
    f.unsupported(field);
  }
  f.unsupported("internal_listener");
  if (
    needsInjectedTlsInspector(filterChains) &&
    !listenerFilters.some((lf) => lf.kind === "tls_inspector")
  ) {
    listenerFilters.unshift(INJECTED_TLS_INSPECTOR);
  }
  const listener: ListenerConfig = {
    name,
    bindToPort: f.optBool("bind_to_port") ?? true,
    useOriginalDst: f.optBool("use_original_dst") ?? false,
    trafficDirection: f.enumValue("traffic_direction", DIRECTIONS),
    listenerFilters,
    listenerFiltersTimeoutMs: f.duration("listener_filters_timeout") ?? 15_000,
    continueOnListenerFiltersTimeout: f.bool("continue_on_listener_filters_timeout"),
    filterChains,
    chainIndex: buildFilterChainIndex(
      filterChains,
      chainFields.map((c) => c.path),
      ctx.errors,
    ),
  };
  if (address) listener.address = address;
  if (defaultFilterChain) listener.defaultFilterChain = defaultFilterChain;
  if (apiListener) listener.apiListener = apiListener;
  f.finish();
  return ctx.errors.length === 0
    ? { ok: true, value: listener }
    : { ok: false, errors: ctx.errors };
}
