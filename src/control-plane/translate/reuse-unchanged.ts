// Carrying resource objects over from one translation to the next when their content did not
// change: the ADS engine encodes each object once, so a kept object costs no re-encoding, and a
// kept map lets it skip the whole set (same object, same content).
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyResources } from "./proxy-resources.ts";

function sameContent(prior: JsonObject | undefined, resource: JsonObject): prior is JsonObject {
  return (
    prior === resource ||
    (prior !== undefined && JSON.stringify(prior) === JSON.stringify(resource))
  );
}

/** `entries`, in order, with the object `before` has under the same name where the content is
 * the same. */
export function reuseUnchangedEntries(
  before: ReadonlyMap<string, JsonObject> | undefined,
  entries: Iterable<[string, JsonObject]>,
): Array<[string, JsonObject]> {
  const out: Array<[string, JsonObject]> = [];
  for (const [name, resource] of entries) {
    const prior = before?.get(name);
    out.push([name, sameContent(prior, resource) ? prior : resource]);
  }
  return out;
}

/**
 * `after`, with the object of `before` wherever the content is the same (compared as JSON text;
 * the same object needs no comparison). When every entry of `after` is `before`'s, in the same
 * order and with nothing removed, it is `before` itself.
 */
export function reuseUnchangedMap(
  before: ReadonlyMap<string, JsonObject> | undefined,
  after: ReadonlyMap<string, JsonObject>,
): ReadonlyMap<string, JsonObject> {
  if (!before || before === after) return after;
  const out = new Map<string, JsonObject>();
  let same = before.size === after.size;
  const order = same ? before.keys() : undefined;
  for (const [name, resource] of after) {
    const prior = before.get(name);
    const kept = sameContent(prior, resource) ? prior : resource;
    out.set(name, kept);
    if (same && (kept !== prior || order?.next().value !== name)) same = false;
  }
  return same ? before : out;
}

/** reuseUnchangedMap for each type of a proxy's resources. */
export function reuseUnchanged(before: ProxyResources, after: ProxyResources): ProxyResources {
  const listeners = reuseUnchangedMap(before.listeners, after.listeners);
  const routes = reuseUnchangedMap(before.routes, after.routes);
  const clusters = reuseUnchangedMap(before.clusters, after.clusters);
  const endpoints = reuseUnchangedMap(before.endpoints, after.endpoints);
  if (
    listeners === before.listeners &&
    routes === before.routes &&
    clusters === before.clusters &&
    endpoints === before.endpoints
  )
    return before;
  return { listeners, routes, clusters, endpoints };
}
