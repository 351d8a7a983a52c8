// Listener filters (tls_inspector, http_inspector, original_dst) and their filter_disabled
// predicates; any other listener filter is an error since the proxy cannot run it.
import type { Fields } from "../routing/decode-reader.ts";
import type { ListenerFilter, ListenerFilterKind, ListenerFilterPredicate } from "./types.ts";

const LISTENER_FILTERS: ReadonlyArray<[ListenerFilterKind, string, string]> = [
  [
    "tls_inspector",
    "envoy.filters.listener.tls_inspector",
    "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
  ],
  [
    "http_inspector",
    "envoy.filters.listener.http_inspector",
    "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector",
  ],
  [
    "original_dst",
    "envoy.filters.listener.original_dst",
    "envoy.extensions.filters.listener.original_dst.v3.OriginalDst",
  ],
];

/** The message name of an Any's "@type" URL. */
export function typeName(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

const PREDICATES = [
  "or_match",
  "and_match",
  "not_match",
  "any_match",
  "destination_port_range",
] as const;

export function decodePredicate(f: Fields): ListenerFilterPredicate {
  const kind = f.oneof(PREDICATES);
  let out: ListenerFilterPredicate = { kind: "any" };
  switch (kind) {
    case "or_match":
    case "and_match": {
      const set = f.object(kind);
      const rules = set?.objects("rules").map(decodePredicate) ?? [];
      if (set && rules.length < 2) set.error("at least 2 rules are required", "rules");
      set?.finish();
      out = { kind: kind === "or_match" ? "or" : "and", rules };
      break;
    }
    case "not_match": {
      const inner = f.object(kind);
      out = { kind: "not", rule: inner ? decodePredicate(inner) : { kind: "any" } };
      break;
    }
    case "any_match":
      if (f.raw("any_match") !== true) f.error("must be true", "any_match");
      break;
    case "destination_port_range": {
      const r = f.object(kind);
      const start = r?.int64("start") ?? 0;
      const end = r?.int64("end") ?? 0;
      if (r && end < start) r.error("end must not be less than start");
      r?.finish();
      out = { kind: "destination_port_range", start, end };
      break;
    }
    case undefined:
      f.error(
        "one of or_match, and_match, not_match, any_match, destination_port_range is required",
      );
  }
  f.finish();
  return out;
}

/** Whether `predicate` matches a connection to `port` (so the filter is skipped). */
export function predicateMatches(predicate: ListenerFilterPredicate, port: number): boolean {
  switch (predicate.kind) {
    case "any":
      return true;
    case "or":
      return predicate.rules.some((r) => predicateMatches(r, port));
    case "and":
      return predicate.rules.every((r) => predicateMatches(r, port));
    case "not":
      return !predicateMatches(predicate.rule, port);
    case "destination_port_range":
      return port >= predicate.start && port < predicate.end;
  }
}

export function decodeListenerFilter(f: Fields): ListenerFilter | undefined {
  const name = f.string("name", 1);
  f.unsupported("config_discovery", "listener filter discovery (ECDS) is not supported");
  const typed = f.object("typed_config");
  const url = typed ? typed.string("@type", 1) : "";
  typed?.skip(...Object.keys(typed.obj));
  const known = LISTENER_FILTERS.find(([, n, t]) => (url ? typeName(url) === t : name === n));
  const disabledFields = f.object("filter_disabled");
  const disabled = disabledFields ? decodePredicate(disabledFields) : undefined;
  f.finish();
  if (!known) {
    f.error(`unsupported listener filter ${url ? `of type ${url}` : JSON.stringify(name)}`);
    return undefined;
  }
  return { name, kind: known[0], ...(disabled ? { disabled } : {}) };
}

/** A TLS inspector Envoy injects when chains match on TLS properties but none is configured. */
export const INJECTED_TLS_INSPECTOR: ListenerFilter = {
  name: "envoy.filters.listener.tls_inspector",
  kind: "tls_inspector",
  injected: true,
};
