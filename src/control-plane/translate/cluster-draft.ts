// A cluster under construction: the Envoy Cluster JSON plus its upstream HttpProtocolOptions,
// which istiod keeps aside while applying policies and packs into typed_extension_protocol_options
// at the end (cluster_builder.go clusterWrapper.build).
import type { JsonObject } from "../../xds/proto-json.ts";
import { type LocalityGroup, localityGroupJson } from "./locality-lb.ts";

export const HTTP_PROTOCOL_OPTIONS_KEY = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const HTTP_PROTOCOL_OPTIONS_TYPE = `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS_KEY}`;

/** The upstream protocol oneof of HttpProtocolOptions. */
export type UpstreamProtocol =
  | { kind: "http1" }
  | { kind: "http2"; http2: JsonObject }
  | { kind: "downstream" };

export interface HttpOptionsDraft {
  common?: JsonObject;
  /** upstream_http_protocol_options (auto_sni, auto_san_validation of originated TLS). */
  upstreamHttp?: JsonObject;
  upstream?: UpstreamProtocol;
}

export interface ClusterDraft {
  cluster: JsonObject;
  http?: HttpOptionsDraft;
  /** Endpoints of STATIC / STRICT_DNS / LOGICAL_DNS clusters, packed into load_assignment. */
  inlineEndpoints?: LocalityGroup[];
}

/** `parent[key]` as an object, created (as {}) when absent. */
export function childObject(parent: JsonObject, key: string): JsonObject {
  const existing = parent[key];
  if (typeof existing === "object" && existing !== null && !Array.isArray(existing)) {
    return existing;
  }
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

function httpOptions(draft: ClusterDraft): HttpOptionsDraft {
  draft.http ??= {};
  return draft.http;
}

/** Merges fields into upstream_http_protocol_options. */
export function setUpstreamHttpOptions(draft: ClusterDraft, fields: JsonObject): void {
  const options = httpOptions(draft);
  options.upstreamHttp = { ...options.upstreamHttp, ...fields };
}

/** Makes the cluster speak HTTP/2 upstream (istiod setH2Options). */
export function setHttp2(draft: ClusterDraft): void {
  httpOptions(draft).upstream = { kind: "http2", http2: {} };
}

/** Upstream protocol follows the downstream one (istiod setUseDownstreamProtocol). */
export function setUseDownstreamProtocol(draft: ClusterDraft): void {
  httpOptions(draft).upstream = { kind: "downstream" };
}

export function isHttp2(draft: ClusterDraft): boolean {
  return draft.http?.upstream?.kind === "http2";
}

/** common_http_protocol_options, created on first use. */
export function commonHttpOptions(draft: ClusterDraft): JsonObject {
  const options = httpOptions(draft);
  options.common ??= {};
  return options.common;
}

/** The typed HttpProtocolOptions message (proto3 JSON with "@type"). */
export function httpProtocolOptionsJson(options: HttpOptionsDraft): JsonObject {
  const out: JsonObject = { "@type": HTTP_PROTOCOL_OPTIONS_TYPE };
  if (options.common) out.common_http_protocol_options = options.common;
  if (options.upstreamHttp) out.upstream_http_protocol_options = options.upstreamHttp;
  const upstream = options.upstream ?? { kind: "http1" };
  switch (upstream.kind) {
    case "http2":
      out.explicit_http_config = { http2_protocol_options: upstream.http2 };
      break;
    case "downstream":
      out.use_downstream_protocol_config = {
        http_protocol_options: {},
        http2_protocol_options: {},
      };
      break;
    default:
      // UpstreamProtocolOptions is required by Envoy: default to explicit HTTP/1.1.
      out.explicit_http_config = { http_protocol_options: {} };
  }
  return out;
}

/** The finished Cluster: inline endpoints and HTTP protocol options packed when present. */
export function finishCluster(draft: ClusterDraft): JsonObject {
  const out: JsonObject = { ...draft.cluster };
  if (draft.inlineEndpoints) {
    out.load_assignment = {
      cluster_name: String(draft.cluster.name),
      endpoints: draft.inlineEndpoints.map(localityGroupJson),
    };
  }
  if (draft.http) {
    out.typed_extension_protocol_options = {
      [HTTP_PROTOCOL_OPTIONS_KEY]: httpProtocolOptionsJson(draft.http),
    };
  }
  return out;
}
