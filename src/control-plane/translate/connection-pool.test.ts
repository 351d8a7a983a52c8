import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { DEFAULT_MESH_CONFIG } from "../model/mesh-config.ts";
import type { ServicePort } from "../model/service.ts";
import {
  type ClusterDraft,
  finishCluster,
  HTTP_PROTOCOL_OPTIONS_KEY,
  setHttp2,
} from "./cluster-draft.ts";
import { at, expectEncodable } from "./clusters-testing.ts";
import { applyConnectionPool, applyH2Upgrade, MAX_UINT32 } from "./connection-pool.ts";
import type { Obj } from "./destination-rules.ts";

const HTTP: ServicePort = { name: "http", port: 80, protocol: "HTTP" };
const TCP: ServicePort = { name: "tcp", port: 80, protocol: "TCP" };
const options = (cluster: JsonObject) =>
  (cluster.typed_extension_protocol_options as JsonObject | undefined)?.[HTTP_PROTOCOL_OPTIONS_KEY];

function pool(settings: Obj, port: ServicePort = HTTP, h2 = false): JsonObject {
  const draft: ClusterDraft = { cluster: { name: "c", type: "EDS" } };
  if (h2) setHttp2(draft);
  applyConnectionPool(draft, settings, { ...DEFAULT_MESH_CONFIG, connectTimeoutMs: 2500 });
  applyH2Upgrade(draft, port, settings);
  const cluster = finishCluster(draft);
  expectEncodable([cluster]);
  return cluster;
}

describe("connectionPool → cluster", () => {
  it("defaults to unlimited circuit breakers and the mesh connect timeout, no HTTP options", () => {
    const cluster = pool({});
    expect(cluster).toEqual({
      name: "c",
      type: "EDS",
      connect_timeout: "2.5s",
      circuit_breakers: {
        thresholds: [
          {
            max_connections: MAX_UINT32,
            max_pending_requests: MAX_UINT32,
            max_requests: MAX_UINT32,
            max_retries: MAX_UINT32,
            track_remaining: true,
          },
        ],
      },
    });
  });

  it("maps the limits to thresholds; zero keeps Istio's default", () => {
    const cluster = pool({
      tcp: { maxConnections: 7, connectTimeout: "30ms" },
      http: { http1MaxPendingRequests: 3, http2MaxRequests: 11, maxRetries: 0 },
    });
    expect(at(cluster, "circuit_breakers.thresholds[0]")).toEqual({
      max_connections: 7,
      max_pending_requests: 3,
      max_requests: 11,
      max_retries: MAX_UINT32,
      track_remaining: true,
    });
    expect(cluster.connect_timeout).toBe("0.03s");
  });

  it("puts idle timeout, requests per connection and connection duration in HTTP options", () => {
    const cluster = pool({
      tcp: { maxConnectionDuration: "1h", idleTimeout: "5m" },
      http: { idleTimeout: "30s", maxRequestsPerConnection: 1 },
    });
    expect(options(cluster)).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
      common_http_protocol_options: {
        idle_timeout: "30s",
        max_requests_per_connection: 1,
        max_connection_duration: "3600s",
      },
      explicit_http_config: { http_protocol_options: {} },
    });
  });

  it("falls back to the TCP idle timeout", () => {
    const cluster = pool({ tcp: { idleTimeout: "0s" } });
    expect(at(options(cluster), "common_http_protocol_options.idle_timeout")).toBe("0s");
  });

  it("sets TCP keepalive (time and interval in whole seconds)", () => {
    const cluster = pool({ tcp: { tcpKeepalive: { probes: 3, time: "7200s", interval: "75s" } } });
    expect(cluster.upstream_connection_options).toEqual({
      tcp_keepalive: { keepalive_probes: 3, keepalive_time: 7200, keepalive_interval: 75 },
    });
    expect(pool({ tcp: { tcpKeepalive: {} } }).upstream_connection_options).toEqual({
      tcp_keepalive: {},
    });
  });

  it("limits concurrent streams on HTTP/2 clusters only", () => {
    const h2 = pool({ http: { maxConcurrentStreams: 50 } }, HTTP, true);
    expect(at(options(h2), "explicit_http_config")).toEqual({
      http2_protocol_options: { max_concurrent_streams: 50 },
    });
    const h1 = pool({ http: { maxConcurrentStreams: 50 } });
    expect(at(options(h1), "explicit_http_config")).toEqual({ http_protocol_options: {} });
  });

  it("useClientProtocol follows the downstream protocol", () => {
    const cluster = pool({ http: { useClientProtocol: true } });
    expect(at(options(cluster), "use_downstream_protocol_config")).toEqual({
      http_protocol_options: {},
      http2_protocol_options: {},
    });
  });

  it("h2UpgradePolicy UPGRADE makes any port HTTP/2; DO_NOT_UPGRADE and the default do not", () => {
    const upgraded = pool({ http: { h2UpgradePolicy: "UPGRADE" } }, TCP);
    expect(at(options(upgraded), "explicit_http_config")).toEqual({ http2_protocol_options: {} });
    const plain = pool({ http: { h2UpgradePolicy: "DEFAULT" } }, HTTP);
    expect(plain.typed_extension_protocol_options).toBeUndefined();
    const h2 = pool({ http: { h2UpgradePolicy: "DO_NOT_UPGRADE" } }, HTTP, true);
    expect(at(options(h2), "explicit_http_config")).toEqual({ http2_protocol_options: {} });
  });
});
