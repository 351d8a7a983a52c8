// Envoy's `/config_dump` (envoy.admin.v3.ConfigDump) built from the resources the proxy accepted:
// the same config types in Envoy's order, each resource wrapped as an Any with its own "@type",
// with `?resource=`, `?mask=`, `?name_regex=` and `?include_eds` as Envoy reads them.

import type { Json, JsonObject } from "../../xds/proto-json.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { withTemporaryRe2 } from "../routing/re2-pool.ts";
import type { RecordedResource, Rejection, ResourceRecorder } from "./resource-recorder.ts";

const ADMIN = "type.googleapis.com/envoy.admin.v3.";

/** The "@type" of each config in the dump. */
export const CONFIG_DUMP_TYPE = {
  bootstrap: `${ADMIN}BootstrapConfigDump`,
  clusters: `${ADMIN}ClustersConfigDump`,
  endpoints: `${ADMIN}EndpointsConfigDump`,
  listeners: `${ADMIN}ListenersConfigDump`,
  scopedRoutes: `${ADMIN}ScopedRoutesConfigDump`,
  routes: `${ADMIN}RoutesConfigDump`,
  secrets: `${ADMIN}SecretsConfigDump`,
} as const;

/** Per config type: its repeated fields and their element message's "@type" (for `?resource=`). */
const REPEATED: Record<string, Record<string, string>> = {
  [CONFIG_DUMP_TYPE.clusters]: {
    static_clusters: `${CONFIG_DUMP_TYPE.clusters}.StaticCluster`,
    dynamic_active_clusters: `${CONFIG_DUMP_TYPE.clusters}.DynamicCluster`,
    dynamic_warming_clusters: `${CONFIG_DUMP_TYPE.clusters}.DynamicCluster`,
  },
  [CONFIG_DUMP_TYPE.endpoints]: {
    static_endpoint_configs: `${CONFIG_DUMP_TYPE.endpoints}.StaticEndpointConfig`,
    dynamic_endpoint_configs: `${CONFIG_DUMP_TYPE.endpoints}.DynamicEndpointConfig`,
  },
  [CONFIG_DUMP_TYPE.listeners]: {
    static_listeners: `${CONFIG_DUMP_TYPE.listeners}.StaticListener`,
    dynamic_listeners: `${CONFIG_DUMP_TYPE.listeners}.DynamicListener`,
  },
  [CONFIG_DUMP_TYPE.scopedRoutes]: {
    inline_scoped_route_configs: `${CONFIG_DUMP_TYPE.scopedRoutes}.InlineScopedRouteConfigs`,
    dynamic_scoped_route_configs: `${CONFIG_DUMP_TYPE.scopedRoutes}.DynamicScopedRouteConfigs`,
  },
  [CONFIG_DUMP_TYPE.routes]: {
    static_route_configs: `${CONFIG_DUMP_TYPE.routes}.StaticRouteConfig`,
    dynamic_route_configs: `${CONFIG_DUMP_TYPE.routes}.DynamicRouteConfig`,
  },
  [CONFIG_DUMP_TYPE.secrets]: {
    static_secrets: `${CONFIG_DUMP_TYPE.secrets}.StaticSecret`,
    dynamic_active_secrets: `${CONFIG_DUMP_TYPE.secrets}.DynamicSecret`,
    dynamic_warming_secrets: `${CONFIG_DUMP_TYPE.secrets}.DynamicSecret`,
  },
};

/** Singular fields of the configs: asking for one as `?resource=` is a 400, as in Envoy. */
const SINGULAR = new Set(["bootstrap", "last_updated", "version_info"]);

export interface ConfigDumpSource {
  /** Envoy's Node (proto3 JSON). */
  readonly node: JsonObject;
  /** Further Bootstrap fields to show beside the node (admin, dynamic_resources …). */
  readonly bootstrap?: JsonObject;
  /** When the bootstrap was loaded (process start), epoch milliseconds. */
  readonly startTime: number;
  readonly recorder: ResourceRecorder;
  /** Clusters still warming (an EDS cluster waiting for its first assignment). */
  readonly warmingClusters: readonly string[];
  /** Listeners still warming (waiting for their RDS routes or their clusters). */
  readonly warmingListeners: readonly string[];
}

export interface ConfigDumpQuery {
  /** A repeated field of one of the configs (`dynamic_active_clusters` …). */
  resource?: string;
  /** FieldMask paths, comma-separated (`cluster.name,version_info`). */
  mask?: string;
  /** RE2 the resource names must match in full. */
  nameRegex?: string;
  includeEds?: boolean;
}

export type ConfigDumpResult =
  | { status: 200; body: { configs: JsonObject[] } }
  | { status: 400 | 404; error: string };

export function parseConfigDumpQuery(params: URLSearchParams): ConfigDumpQuery {
  const query: ConfigDumpQuery = { includeEds: params.has("include_eds") };
  const resource = params.get("resource");
  const mask = params.get("mask");
  const nameRegex = params.get("name_regex");
  if (resource) query.resource = resource;
  if (mask) query.mask = mask;
  if (nameRegex) query.nameRegex = nameRegex;
  return query;
}

export function buildConfigDump(
  source: ConfigDumpSource,
  query: ConfigDumpQuery = {},
): ConfigDumpResult {
  if (query.nameRegex === undefined)
    return filterDump(
      buildConfigs(source, query, () => true),
      query,
    );
  const pattern = query.nameRegex;
  // Checked alone first: a valid pattern cannot close the group that anchors it below.
  const valid = withTemporaryRe2(pattern, "u", () => true);
  const compiled = valid.ok
    ? withTemporaryRe2(`^(?:${pattern})$`, "u", (re) =>
        filterDump(
          buildConfigs(source, query, (name) => re.test(name)),
          query,
        ),
      )
    : valid;
  return compiled.ok
    ? compiled.value
    : { status: 400, error: `invalid name_regex ${JSON.stringify(pattern)}: ${compiled.reason}` };
}

type NameFilter = (name: string) => boolean;

function buildConfigs(source: ConfigDumpSource, query: ConfigDumpQuery, keep: NameFilter) {
  const { recorder } = source;
  const configs: JsonObject[] = [
    {
      "@type": CONFIG_DUMP_TYPE.bootstrap,
      bootstrap: { node: source.node, ...omit(source.bootstrap ?? {}, "node") },
      last_updated: iso(source.startTime),
    },
    clustersDump(recorder, new Set(source.warmingClusters), keep),
  ];
  if (query.includeEds) configs.push(endpointsDump(recorder, keep));
  configs.push(
    listenersDump(recorder, new Set(source.warmingListeners), keep),
    { "@type": CONFIG_DUMP_TYPE.scopedRoutes },
    routesDump(recorder, keep),
    secretsDump(recorder, keep),
  );
  return configs;
}

function filterDump(configs: JsonObject[], query: ConfigDumpQuery): ConfigDumpResult {
  const mask = query.mask ? parseMask(query.mask) : undefined;
  if (query.resource === undefined)
    return { status: 200, body: { configs: mask ? configs.map((c) => trim(c, mask)) : configs } };
  const field = query.resource;
  const items: JsonObject[] = [];
  let found = false;
  for (const config of configs) {
    const elementType = REPEATED[config["@type"] as string]?.[field];
    if (elementType === undefined) continue;
    found = true;
    for (const item of (config[field] ?? []) as JsonObject[]) {
      const typed = { "@type": elementType, ...item };
      items.push(mask ? trim(typed, mask) : typed);
    }
  }
  if (found) return { status: 200, body: { configs: items } };
  if (SINGULAR.has(field))
    return {
      status: 400,
      error: `${field} is not a repeated field; use ?mask=${field} to get it`,
    };
  return { status: 404, error: `${field} not found in config dump` };
}

function clustersDump(
  recorder: ResourceRecorder,
  warming: ReadonlySet<string>,
  keep: NameFilter,
): JsonObject {
  const failures = failuresOf(recorder, TYPE_URL.cluster);
  const active: JsonObject[] = [];
  const warmingList: JsonObject[] = [];
  for (const r of recorder.resources(TYPE_URL.cluster)) {
    if (!keep(r.name)) continue;
    const entry = dynamicEntry(r, "cluster", TYPE_URL.cluster, failures);
    (warming.has(r.name) ? warmingList : active).push(entry);
  }
  return withoutEmpty({
    "@type": CONFIG_DUMP_TYPE.clusters,
    version_info: recorder.version(TYPE_URL.cluster),
    dynamic_active_clusters: active,
    dynamic_warming_clusters: warmingList,
  });
}

function endpointsDump(recorder: ResourceRecorder, keep: NameFilter): JsonObject {
  const type = TYPE_URL.clusterLoadAssignment;
  const failures = failuresOf(recorder, type);
  return withoutEmpty({
    "@type": CONFIG_DUMP_TYPE.endpoints,
    dynamic_endpoint_configs: recorder
      .resources(type)
      .filter((r) => keep(r.name))
      .map((r) => dynamicEntry(r, "endpoint_config", type, failures)),
  });
}

function listenersDump(
  recorder: ResourceRecorder,
  warming: ReadonlySet<string>,
  keep: NameFilter,
): JsonObject {
  const type = TYPE_URL.listener;
  const failures = failuresOf(recorder, type);
  const byName = new Map<string, JsonObject>();
  for (const r of recorder.resources(type)) {
    if (!keep(r.name)) continue;
    const state: JsonObject = {
      version_info: r.version,
      listener: typed(type, r.resource),
      last_updated: r.lastUpdated,
    };
    byName.set(r.name, {
      name: r.name,
      [warming.has(r.name) ? "warming_state" : "active_state"]: withoutEmpty(state),
    });
  }
  // As Envoy: a listener whose first version was rejected is listed with only its error.
  for (const [name, errors] of failures?.byName ?? []) {
    if (!keep(name)) continue;
    const entry = byName.get(name) ?? { name };
    entry.error_state = errorState(type, failures!.rejection, name, errors);
    byName.set(name, entry);
  }
  return withoutEmpty({
    "@type": CONFIG_DUMP_TYPE.listeners,
    version_info: recorder.version(type),
    dynamic_listeners: [...byName.keys()].sort().map((name) => byName.get(name)!),
  });
}

function routesDump(recorder: ResourceRecorder, keep: NameFilter): JsonObject {
  const type = TYPE_URL.routeConfiguration;
  const failures = failuresOf(recorder, type);
  return withoutEmpty({
    "@type": CONFIG_DUMP_TYPE.routes,
    dynamic_route_configs: recorder
      .resources(type)
      .filter((r) => keep(r.name))
      .map((r) => dynamicEntry(r, "route_config", type, failures)),
  });
}

function secretsDump(recorder: ResourceRecorder, keep: NameFilter): JsonObject {
  const type = TYPE_URL.secret;
  return withoutEmpty({
    "@type": CONFIG_DUMP_TYPE.secrets,
    dynamic_active_secrets: recorder
      .resources(type)
      .filter((r) => keep(r.name))
      .map((r) =>
        withoutEmpty({
          name: r.name,
          version_info: r.version,
          last_updated: r.lastUpdated,
          secret: typed(type, redactSecret(r.resource)),
        }),
      ),
  });
}

/** Envoy's MessageUtil::redact: a private key never leaves the proxy, even on /config_dump. */
function redactSecret(secret: JsonObject): JsonObject {
  const certificate = secret.tls_certificate;
  if (typeof certificate !== "object" || certificate === null || Array.isArray(certificate))
    return secret;
  const key = certificate.private_key;
  if (typeof key !== "object" || key === null || Array.isArray(key)) return secret;
  const redacted: JsonObject = {};
  for (const field of Object.keys(key))
    redacted[field] =
      field === "inline_bytes" ? Buffer.from("[redacted]").toString("base64") : "[redacted]";
  return { ...secret, tls_certificate: { ...certificate, private_key: redacted } };
}

/** The last rejection of a type, with its errors placed on resources. */
interface Failures {
  readonly rejection: Rejection;
  readonly byName: Map<string, string[]>;
}

function failuresOf(recorder: ResourceRecorder, type: string): Failures | undefined {
  const rejection = recorder.lastRejection(type);
  return rejection && { rejection, byName: attributeErrors(rejection) };
}

/** DynamicCluster / DynamicRouteConfig / DynamicEndpointConfig. */
function dynamicEntry(
  r: RecordedResource,
  field: string,
  type: string,
  failures: Failures | undefined,
): JsonObject {
  const entry: JsonObject = {
    version_info: r.version,
    [field]: typed(type, r.resource),
    last_updated: r.lastUpdated,
  };
  const errors = failures?.byName.get(r.name);
  if (errors) entry.error_state = errorState(type, failures!.rejection, r.name, errors);
  return withoutEmpty(entry);
}

/** Envoy's UpdateFailureState for one resource of a rejected update. */
function errorState(
  type: string,
  rejection: Rejection,
  name: string,
  errors: string[],
): JsonObject {
  const failed = rejection.resources.get(name);
  return withoutEmpty({
    ...(failed ? { failed_configuration: typed(type, failed) } : {}),
    last_update_attempt: rejection.time,
    details: errors.join("\n"),
    version_info: rejection.version,
  });
}

/**
 * Which resources of a rejected update each error is about: decoders prefix errors with the
 * resource name (`name: …` or `resource "name": …`). When none can be placed, the whole update
 * was refused together, so every resource in it carries every error.
 */
export function attributeErrors(rejection: Rejection): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const error of rejection.errors)
    for (const name of rejection.resources.keys())
      if (error.startsWith(`${name}:`) || error.includes(JSON.stringify(name))) {
        const list = byName.get(name) ?? [];
        list.push(error);
        byName.set(name, list);
      }
  if (byName.size === 0 && rejection.errors.length > 0)
    for (const name of rejection.resources.keys()) byName.set(name, [...rejection.errors]);
  return byName;
}

/** A resource as an Any in proto3 JSON, with secrets redacted as Envoy does. */
function typed(type: string, resource: JsonObject): JsonObject {
  return { "@type": type, ...(redact(resource) as JsonObject) };
}

const REDACTED = "[redacted]";
const REDACTED_BYTES = Buffer.from(REDACTED).toString("base64");
/** Fields Envoy marks sensitive whose DataSource contents it replaces. */
const SENSITIVE = new Set(["private_key", "password", "secret", "keys"]);

function redactDataSource(value: Json): Json {
  if (!isObject(value)) return value;
  if (typeof value.inline_bytes === "string") return { ...value, inline_bytes: REDACTED_BYTES };
  if (typeof value.inline_string === "string") return { ...value, inline_string: REDACTED };
  return value;
}

/** Replaces inline key material (TlsCertificate private_key/password, GenericSecret secret,
 * session ticket keys) anywhere in a resource, including inside typed_config Anys. */
export function redact(value: Json): Json {
  if (Array.isArray(value)) return value.map(redact);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, inner] of Object.entries(value)) {
    if (SENSITIVE.has(key))
      out[key] = Array.isArray(inner)
        ? inner.map(redactDataSource)
        : redactDataSource(redact(inner));
    else out[key] = redact(inner);
  }
  return out;
}

/** FieldMask paths, split into their field names. */
function parseMask(mask: string): string[][] {
  return mask
    .split(",")
    .map((path) => path.trim())
    .filter((path) => path !== "")
    .map((path) => path.split("."));
}

/**
 * Keeps only the masked fields (a path through a repeated field applies to every element);
 * "@type" stays so each Any still says what it is.
 */
function trim(value: JsonObject, paths: readonly string[][]): JsonObject {
  const out: JsonObject = {};
  if (typeof value["@type"] === "string") out["@type"] = value["@type"];
  for (const [key, inner] of Object.entries(value)) {
    if (key === "@type") continue;
    const matching = paths.filter((p) => p[0] === key);
    if (matching.length === 0) continue;
    if (matching.some((p) => p.length === 1)) {
      out[key] = inner;
      continue;
    }
    const rest = matching.map((p) => p.slice(1));
    if (Array.isArray(inner)) {
      out[key] = inner.map((element) => (isObject(element) ? trim(element, rest) : element));
    } else if (isObject(inner)) {
      const trimmed = trim(inner, rest);
      if (Object.keys(trimmed).some((k) => k !== "@type")) out[key] = trimmed;
    }
  }
  return out;
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Proto3 JSON leaves out empty strings and empty repeated fields. */
function withoutEmpty(object: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === "" || (Array.isArray(value) && value.length === 0)) continue;
    out[key] = value;
  }
  return out;
}

function omit(object: JsonObject, key: string): JsonObject {
  const { [key]: _dropped, ...rest } = object;
  return rest;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
