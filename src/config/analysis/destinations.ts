// Where a VirtualService sends traffic: every route, mirror and mirrors destination, with the
// field path of its `destination` object. Shared by the analyzers that check destinations.
import type { FieldPath } from "../diagnostic.ts";
import type { Resource } from "../resource.ts";
import { isObj, objects } from "../validation/rules.ts";

export interface RouteDestination {
  host: string;
  subset?: string;
  /** `port.number`, when given. */
  port?: number;
  /** Path of the `destination` (or `mirror`) object. */
  path: FieldPath;
}

export function routeDestinations(vs: Resource): RouteDestination[] {
  const out: RouteDestination[] = [];
  const add = (value: unknown, path: FieldPath) => {
    if (!isObj(value) || typeof value.host !== "string") return;
    out.push({
      host: value.host,
      ...(typeof value.subset === "string" && value.subset ? { subset: value.subset } : {}),
      ...(isObj(value.port) && typeof value.port.number === "number"
        ? { port: value.port.number }
        : {}),
      path,
    });
  };
  for (const protocol of ["http", "tls", "tcp"] as const) {
    for (const [rule, i] of objects(vs.spec[protocol])) {
      for (const [route, j] of objects(rule.route))
        add(route.destination, ["spec", protocol, i, "route", j, "destination"]);
      if (protocol !== "http") continue;
      add(rule.mirror, ["spec", "http", i, "mirror"]);
      for (const [mirror, j] of objects(rule.mirrors))
        add(mirror.destination, ["spec", "http", i, "mirrors", j, "destination"]);
    }
  }
  return out;
}
