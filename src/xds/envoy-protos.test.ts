import { readFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import descriptors from "./envoy-descriptors.generated.json" with { type: "json" };
import { envoyProtos, loadEnvoyProtoFiles } from "./envoy-protos.ts";
import { decodeJson, encodeJson, messageToJson } from "./proto-json.ts";
import { messageNameOf } from "./type-urls.ts";

describe("Envoy's protos", () => {
  it("the generated descriptors equal the .proto files (node scripts/generate-envoy-descriptors.ts refreshes them)", () => {
    expect(loadEnvoyProtoFiles().toJSON({ keepComments: false })).toEqual(descriptors);
  });

  it("resolved on use, encode and decode as when resolved all at once (Root.fromJSON)", () => {
    const eager = protobuf.Root.fromJSON(descriptors as protobuf.INamespace);
    const push = JSON.parse(
      readFileSync(join(import.meta.dirname, "testdata/captured-push.json"), "utf8"),
    ) as Array<{ t: string; v: string }>;
    for (const { t, v } of push) {
      const bytes = Buffer.from(v, "base64");
      const lazyType = envoyProtos().lookupType(messageNameOf(t));
      const eagerType = eager.lookupType(messageNameOf(t));
      const json = decodeJson(lazyType, bytes);
      expect(decodeJson(eagerType, bytes), t).toStrictEqual(json);
      expect(messageToJson(eagerType, eagerType.decode(bytes)), t).toStrictEqual(json);
      expect(Buffer.from(encodeJson(lazyType, json)), t).toEqual(
        Buffer.from(encodeJson(eagerType, json)),
      );
    }
  });

  it("load every message crema encodes, with the protos' own field names", () => {
    const listener = envoyProtos().lookupType("envoy.config.listener.v3.Listener");
    expect(listener.fields.filter_chains).toBeDefined();
    expect(envoyProtos().lookupType("envoy.extensions.filters.http.rbac.v3.RBAC")).toBeDefined();
  });

  it("carry Istio's stats.PluginConfig with its field numbers, inside an Any both ways", () => {
    const plugin = envoyProtos().lookupType("stats.PluginConfig");
    expect(
      Object.fromEntries(Object.values(plugin.fields).map((f) => [f.name, f.id])),
    ).toMatchObject({
      disable_host_header_fallback: 6,
      tcp_reporting_duration: 7,
      metrics: 8,
      definitions: 9,
      reporter: 10,
      rotation_interval: 11,
      graceful_deletion_interval: 12,
    });
    const metric = envoyProtos().lookupType("stats.MetricConfig");
    expect(Object.fromEntries(Object.values(metric.fields).map((f) => [f.name, f.id]))).toEqual({
      dimensions: 1,
      name: 2,
      tags_to_remove: 3,
      match: 4,
      drop: 5,
    });
    // As istiod sends it: the HTTP filter's typed_config is the PluginConfig itself.
    const filter = envoyProtos().lookupType(
      "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter",
    );
    const json = {
      name: "istio.stats",
      typed_config: {
        "@type": "type.googleapis.com/stats.PluginConfig",
        disable_host_header_fallback: true,
        tcp_reporting_duration: "15s",
        metrics: [
          {
            name: "requests_total",
            dimensions: { request_host: "request.host" },
            tags_to_remove: ["request_protocol"],
            drop: false,
          },
        ],
      },
    };
    const bytes = encodeJson(filter, json);
    // disable_host_header_fallback (field 6, varint 1) is on the wire as istiod writes it.
    expect(Buffer.from(bytes).includes(Buffer.from([0x30, 0x01]))).toBe(true);
    const { drop: _drop, ...metricWithoutDefault } = json.typed_config.metrics[0]!;
    expect(decodeJson(filter, bytes)).toEqual({
      ...json,
      typed_config: { ...json.typed_config, metrics: [metricWithoutDefault] },
    });
  });

  it("carry istio/proxy's MetadataExchange with its field number, as a cluster's upstream filter", () => {
    const exchange = envoyProtos().lookupType("envoy.tcp.metadataexchange.config.MetadataExchange");
    expect(Object.fromEntries(Object.values(exchange.fields).map((f) => [f.name, f.id]))).toEqual({
      protocol: 1,
    });
    const filter = envoyProtos().lookupType("envoy.config.cluster.v3.Filter");
    const json = {
      name: "istio.metadata_exchange",
      typed_config: {
        "@type": "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange",
        protocol: "istio-peer-exchange",
      },
    };
    const bytes = encodeJson(filter, json);
    // protocol (field 1, length-delimited) as istiod writes it.
    expect(Buffer.from(bytes).includes(Buffer.from("\x0a\x13istio-peer-exchange", "latin1"))).toBe(
      true,
    );
    expect(decodeJson(filter, bytes)).toEqual(json);
  });
});
