// What translation produces for one proxy: Envoy v3 resources as proto3-JSON objects (snake_case
// fields, durations as "1s", typed_config with "@type"), keyed by resource name.
import type { JsonObject } from "../../xds/proto-json.ts";

export interface ProxyResources {
  listeners: ReadonlyMap<string, JsonObject>;
  routes: ReadonlyMap<string, JsonObject>;
  clusters: ReadonlyMap<string, JsonObject>;
  /** ClusterLoadAssignments by cluster name (EDS clusters only). */
  endpoints: ReadonlyMap<string, JsonObject>;
}

/** Orders a map's entries by name so output is deterministic. */
export function sortedByName(entries: Iterable<[string, JsonObject]>): Map<string, JsonObject> {
  return new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
