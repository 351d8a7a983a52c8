// Reads a proxy admin's `/config_dump` (envoy.admin.v3.ConfigDump as proto3 JSON) into the
// resource lists the `proxy-config` tables print, the way istioctl picks them: active dynamic
// and static resources (warming ones are left out), each unwrapped from its dump entry.
import { CremaError } from "../../base/errors.ts";
import type { Json, JsonObject } from "../../xds/proto-json.ts";

const ADMIN = "type.googleapis.com/envoy.admin.v3.";

export interface ConfigDump {
  /** The dump as received (`proxy-config all -o json` prints it whole). */
  readonly raw: JsonObject;
  readonly bootstrap?: JsonObject;
  /** Cluster resources: dynamic active, then static. */
  readonly clusters: JsonObject[];
  /** Listener resources: dynamic with an active state, then static. */
  readonly listeners: JsonObject[];
  /** RouteConfiguration resources: dynamic, then static. */
  readonly routes: JsonObject[];
  /** The SecretsConfigDump section (empty when the dump has none). */
  readonly secrets: JsonObject;
}

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function objectAt(value: Json | undefined, key: string): JsonObject | undefined {
  if (!isObject(value)) return undefined;
  const inner = value[key];
  return isObject(inner) ? inner : undefined;
}

export function objectsAt(value: Json | undefined, key: string): JsonObject[] {
  if (!isObject(value)) return [];
  const inner = value[key];
  return Array.isArray(inner) ? inner.filter(isObject) : [];
}

export function stringAt(value: Json | undefined, key: string): string {
  if (!isObject(value)) return "";
  const inner = value[key];
  return typeof inner === "string" ? inner : "";
}

export function stringsAt(value: Json | undefined, key: string): string[] {
  if (!isObject(value)) return [];
  const inner = value[key];
  return Array.isArray(inner) ? inner.filter((v): v is string => typeof v === "string") : [];
}

/** A uint32 field (proto3 JSON gives wrappers and uint32 as numbers; uint64 as strings). */
export function numberAt(value: Json | undefined, key: string): number {
  if (!isObject(value)) return 0;
  const inner = value[key];
  if (typeof inner === "number") return inner;
  if (typeof inner === "string" && /^\d+$/.test(inner)) return Number(inner);
  return 0;
}

/** A resource as istioctl prints it in `-o json`: the message itself, not its Any wrapper. */
export function withoutType(resource: JsonObject): JsonObject {
  const { "@type": _type, ...rest } = resource;
  return rest;
}

/**
 * The Istio config a generated resource came from, from its `istio` filter metadata
 * (`/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews` → `reviews.default`),
 * as istioctl's DESTINATION RULE and VIRTUAL SERVICE columns show it.
 */
export function istioConfigRef(metadata: Json | undefined): string {
  const path = stringAt(objectAt(objectAt(metadata, "filter_metadata"), "istio"), "config");
  if (path === "") return "";
  const pieces = path.split("/");
  // ["", "apis", group, version, "namespaces", ns, kind, name]
  if (pieces[1] !== "apis" || pieces[4] !== "namespaces") return "<unknown>";
  if (pieces.length !== 8) return "";
  return `${pieces[7]}.${pieces[5]}`;
}

function unwrap(entries: JsonObject[], field: string): JsonObject[] {
  return entries.flatMap((entry): JsonObject[] => {
    const inner = objectAt(entry, field);
    return inner ? [inner] : [];
  });
}

/** Decodes the body of `GET /config_dump`; throws CREMA_RUNTIME_REQUEST_FAILED when it is not one. */
export function decodeConfigDump(body: unknown, source: string): ConfigDump {
  const raw = body as Json;
  const configs = objectsAt(raw, "configs");
  if (!isObject(raw) || !Array.isArray(raw.configs)) {
    throw new CremaError(
      "CREMA_RUNTIME_REQUEST_FAILED",
      `${source} did not answer with an Envoy config dump (no "configs" list)`,
    );
  }
  const section = (name: string) =>
    configs.find((c) => stringAt(c, "@type") === `${ADMIN}${name}`) ?? {};
  const clusters = section("ClustersConfigDump");
  const listeners = section("ListenersConfigDump");
  const routes = section("RoutesConfigDump");
  const bootstrap = objectAt(section("BootstrapConfigDump"), "bootstrap");
  return {
    raw,
    ...(bootstrap ? { bootstrap } : {}),
    clusters: [
      ...unwrap(objectsAt(clusters, "dynamic_active_clusters"), "cluster"),
      ...unwrap(objectsAt(clusters, "static_clusters"), "cluster"),
    ],
    listeners: [
      ...unwrap(unwrap(objectsAt(listeners, "dynamic_listeners"), "active_state"), "listener"),
      ...unwrap(objectsAt(listeners, "static_listeners"), "listener"),
    ],
    routes: [
      ...unwrap(objectsAt(routes, "dynamic_route_configs"), "route_config"),
      ...unwrap(objectsAt(routes, "static_route_configs"), "route_config"),
    ],
    secrets: section("SecretsConfigDump"),
  };
}
