import { describe, expect, it } from "vitest";
import { envoyProtos } from "./envoy-protos.ts";
import { jsonToProtobufObject } from "./proto-json.ts";
import { decodeResource, encodeResource } from "./resource-codec.ts";
import { TYPE_URL } from "./type-urls.ts";

const listener = {
  name: "0.0.0.0_9080",
  address: { socket_address: { address: "0.0.0.0", port_value: 9080 } },
  filter_chains: [
    {
      filters: [
        {
          name: "envoy.filters.network.http_connection_manager",
          typed_config: {
            "@type":
              "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            stat_prefix: "outbound_0.0.0.0_9080",
            rds: {
              route_config_name: "9080",
              config_source: { ads: {}, resource_api_version: "V3" },
            },
            http_filters: [
              {
                name: "envoy.filters.http.router",
                typed_config: {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                },
              },
            ],
            stream_idle_timeout: "0s",
            common_http_protocol_options: { idle_timeout: "3600.5s" },
            use_remote_address: false,
          },
        },
      ],
    },
  ],
  metadata: {
    filter_metadata: {
      istio: {
        config: "/apis/networking/v1/namespaces/default/virtual-service/x",
        n: 1.5,
        list: [true, null],
      },
    },
  },
};

describe("proto3 JSON mapping", () => {
  it("round-trips a listener with Any, Duration, wrappers and Struct", () => {
    const any = encodeResource(TYPE_URL.listener, listener);
    expect(any.type_url).toBe(TYPE_URL.listener);
    expect(any.value.byteLength).toBeGreaterThan(100);
    const decoded = decodeResource(any);
    expect(decoded).toMatchObject({
      name: "0.0.0.0_9080",
      address: { socket_address: { address: "0.0.0.0", port_value: 9080 } },
      metadata: listener.metadata,
    });
    type Hcm = {
      "@type": string;
      stream_idle_timeout: string;
      common_http_protocol_options: { idle_timeout: string };
      rds: { config_source: { resource_api_version: string } };
    };
    const chains = decoded.filter_chains as unknown as Array<{
      filters: Array<{ typed_config: Hcm }>;
    }>;
    const hcm = chains[0]!.filters[0]!.typed_config;
    expect(hcm["@type"]).toContain("HttpConnectionManager");
    expect(hcm.stream_idle_timeout).toBe("0s");
    expect(hcm.common_http_protocol_options.idle_timeout).toBe("3600.500s".replace(/0+s$/, "s"));
    expect(hcm.rds.config_source.resource_api_version).toBe("V3");
  });

  it("round-trips wrapper types as bare values", () => {
    const cluster = {
      name: "outbound|9080||reviews.default.svc.cluster.local",
      type: "EDS",
      connect_timeout: "10s",
      per_connection_buffer_limit_bytes: 32768,
      circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_retries: 4294967295 }] },
      common_lb_config: { healthy_panic_threshold: { value: 50 } },
    };
    const decoded = decodeResource(encodeResource(TYPE_URL.cluster, cluster));
    expect(decoded).toMatchObject(cluster);
  });

  it("names the field when a resource is malformed", () => {
    expect(() =>
      encodeResource(TYPE_URL.cluster, { name: "c", connect_timeout: "10" } as never),
    ).toThrow(/connect_timeout/);
    expect(() => encodeResource(TYPE_URL.cluster, { name: "c", bogus: 1 } as never)).toThrow(
      /bogus: unknown field/,
    );
    expect(() => encodeResource("type.googleapis.com/nope.Nothing", {})).toThrow(
      /CREMA_XDS_UNKNOWN_TYPE|no protobuf type/,
    );
  });
});

describe("discovery messages", () => {
  it("round-trip a DiscoveryRequest with its node and a response with Any resources", async () => {
    const messages = await import("./discovery-messages.ts");
    const request = {
      version_info: "",
      node: {
        id: "sidecar~10.0.0.1~reviews-v1.default~default.svc.cluster.local",
        metadata: { NAMESPACE: "default", LABELS: { app: "reviews" } },
      },
      resource_names: [],
      type_url: TYPE_URL.cluster,
      response_nonce: "",
    };
    const decoded = messages.decodeDiscoveryRequest(messages.encodeDiscoveryRequest(request));
    expect(decoded).toMatchObject(request);
    // The reflective encoder writes what protobufjs's generated one does.
    const full = {
      ...request,
      node: {
        ...request.node,
        cluster: "reviews.default",
        locality: { region: "r", zone: "z" },
        user_agent_name: "envoy",
        metadata: { ...request.node.metadata, ISTIO_VERSION: "1.24", EMPTY: {}, N: 3, B: true },
      },
      resource_names: ["a", "b"],
      response_nonce: "n-1",
      error_detail: { code: 3, message: "rejected" },
    };
    const requestType = envoyProtos().lookupType("envoy.service.discovery.v3.DiscoveryRequest");
    const nodeType = envoyProtos().lookupType("envoy.config.core.v3.Node");
    const generated = requestType
      .encode(requestType.fromObject({ ...full, node: jsonToProtobufObject(nodeType, full.node) }))
      .finish();
    expect(Buffer.from(messages.encodeDiscoveryRequest(full))).toEqual(Buffer.from(generated));
    expect(decoded.error_detail).toBeUndefined();
    const resource = encodeResource(TYPE_URL.cluster, { name: "c1", type: "EDS" });
    const response = messages.decodeDiscoveryResponse(
      messages.encodeDiscoveryResponse({
        version_info: "1",
        resources: [resource],
        type_url: TYPE_URL.cluster,
        nonce: "n1",
      }),
    );
    expect(response.nonce).toBe("n1");
    expect(decodeResource(response.resources[0]!)).toEqual({ name: "c1", type: "EDS" });
  });
});
