// The tags Envoy's HCM puts on its span (HttpTracerUtility::finalizeDownstreamSpan and
// TracerUtility::finalizeSpan), split into what the request says when the span starts and what the
// stream's record says when it ends; custom tags from the HCM's tracing config on top.
import type { Attributes } from "@opentelemetry/api";
import { formatResponseFlags } from "../http/response-flags.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import type { MutableHeaders, RouteRequest } from "../routing/types.ts";
import type { CustomTag } from "./types.ts";

function header(headers: MutableHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === "string" ? value : value?.join(",");
}

/** `scheme://authority/path`, the path (x-envoy-original-path when rewritten) cut to `max`. */
export function httpUrlTag(route: RouteRequest, headers: MutableHeaders, max: number): string {
  const path = header(headers, "x-envoy-original-path") ?? route.path;
  return `${route.scheme}://${route.authority}${path.length > max ? path.slice(0, max) : path}`;
}

/** The IP of an `ip:port` (or `[ip]:port`) address. */
function ipOf(address: string): string {
  if (address.startsWith("[")) return address.slice(1, address.indexOf("]"));
  const colon = address.lastIndexOf(":");
  return colon > 0 && address.indexOf(":") === colon ? address.slice(0, colon) : address;
}

export interface LocalNode {
  nodeId: string;
  zone: string;
}

/** What is known when the span starts. */
export function requestTags(input: {
  headers: MutableHeaders;
  route: RouteRequest;
  info: StreamInfo;
  node: LocalNode;
  maxPathTagLength: number;
  customTags: readonly CustomTag[];
}): Attributes {
  const { headers, route, info, node } = input;
  const tags: Attributes = {
    node_id: node.nodeId,
    zone: node.zone,
    "http.url": httpUrlTag(route, headers, input.maxPathTagLength),
    "http.method": route.method,
    downstream_cluster: header(headers, "x-envoy-downstream-service-cluster") ?? "-",
    user_agent: header(headers, "user-agent") ?? "-",
    "http.protocol": info.protocol ?? "-",
  };
  const requestId = header(headers, "x-request-id");
  if (requestId !== undefined) tags["guid:x-request-id"] = requestId;
  const clientTraceId = header(headers, "x-client-trace-id");
  if (clientTraceId !== undefined) tags["guid:x-client-trace-id"] = clientTraceId;
  const peer = info.downstreamDirectRemoteAddress;
  if (peer) tags["peer.address"] = ipOf(peer);
  for (const custom of input.customTags) {
    if (custom.kind === "literal") tags[custom.tag] = custom.value;
    else if (custom.kind === "request_header") {
      const value = header(headers, custom.name) ?? custom.defaultValue;
      if (value !== "") tags[custom.tag] = value;
    }
  }
  return tags;
}

function metadataValue(
  metadata: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined,
  tag: Extract<CustomTag, { kind: "metadata" }>,
): string | undefined {
  let value: unknown = metadata?.[tag.filter];
  for (const key of tag.path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** What the stream's record says once it is over. */
export function responseTags(
  info: StreamInfo,
  customTags: readonly CustomTag[],
  dynamicMetadata?: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
): Attributes {
  const tags: Attributes = {
    request_size: info.bytesReceived,
    response_size: info.bytesSent,
    "http.status_code": String(info.responseCode),
    response_flags: formatResponseFlags(info.responseFlags),
    component: "proxy",
  };
  // Envoy marks a stream without a response code as failed, as it does a 5xx.
  if (info.responseCode === 0 || info.responseCode >= 500) tags.error = "true";
  if (info.upstreamCluster !== undefined) {
    tags.upstream_cluster = info.upstreamCluster;
    tags["upstream_cluster.name"] = info.upstreamCluster;
  }
  if (info.upstreamHost !== undefined) tags.upstream_address = info.upstreamHost;
  for (const custom of customTags) {
    if (custom.kind !== "metadata") continue;
    const value = metadataValue(dynamicMetadata, custom) ?? custom.defaultValue;
    if (value !== "") tags[custom.tag] = value;
  }
  return tags;
}
