// Which listener filters inspect a connection to a given destination port (honouring each
// filter's filter_disabled predicate), so the proxy only peeks at bytes when Envoy would.
import { predicateMatches } from "./decode-listener-filters.ts";
import type { ListenerConfig, ListenerFilterKind } from "./types.ts";

function runs(
  listener: Pick<ListenerConfig, "listenerFilters">,
  kind: ListenerFilterKind,
  port?: number,
) {
  return listener.listenerFilters.some(
    (f) =>
      f.kind === kind && (port === undefined || !f.disabled || !predicateMatches(f.disabled, port)),
  );
}

/** True when a TLS inspector (configured or injected) runs for connections to `port`. */
export function needsTlsInspector(
  listener: Pick<ListenerConfig, "listenerFilters">,
  port?: number,
): boolean {
  return runs(listener, "tls_inspector", port);
}

/** True when an HTTP inspector runs for connections to `port`. */
export function needsHttpInspector(
  listener: Pick<ListenerConfig, "listenerFilters">,
  port?: number,
): boolean {
  return runs(listener, "http_inspector", port);
}
