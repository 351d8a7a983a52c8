import { readFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import declarations from "./envoy-declarations.generated.json" with { type: "json" };
import { envoyDeclarations } from "./envoy-declarations.ts";
import descriptors from "./envoy-descriptors.generated.json" with { type: "json" };
import { createEnvoyRoot, envoyProtos, loadEnvoyProtoFiles } from "./envoy-protos.ts";
import { decodeJson, encodeJson, messageToJson } from "./proto-json.ts";
import { editionOf, featuresOf, resolveFeatures } from "./protobuf-features.ts";
import { messageNameOf } from "./type-urls.ts";

describe("Envoy's protos", () => {
  it("the generated descriptors equal the .proto files (node scripts/generate-envoy-descriptors.ts refreshes them)", () => {
    const root = loadEnvoyProtoFiles();
    expect(root.toJSON({ keepComments: false })).toEqual(descriptors);
    expect(envoyDeclarations(root)).toEqual(declarations);
  });

  it("built a declaration at a time, resolve every name as the whole Root does", () => {
    const eager = protobuf.Root.fromJSON(descriptors as protobuf.INamespace);
    eager.resolveAll();
    for (const name of declarations.names) {
      // A Root that has only this declaration and what it needs.
      const lazy = createEnvoyRoot();
      const found = lazy.lookup(name);
      expect(found, name).not.toBeNull();
      // As the codecs do before reading features (Type.setup does the same).
      resolveFeatures(lazy, editionOf(found!));
      expect(found!.toJSON(), name).toEqual(eager.lookup(name)!.toJSON());
      for (const [path, resolved] of resolutions(found!)) {
        expect(resolved, `${name}: ${path}`).toBe(
          resolutionOf(eager.lookup(path.split(" ")[0]!)!, path),
        );
      }
    }
    // Once everything is added, the whole Root, features included, is the one built at once.
    const whole = createEnvoyRoot();
    for (const name of declarations.names) whole.lookup(name);
    expect(whole.toJSON()).toEqual(eager.toJSON());
    for (const [path] of resolutions(eager)) {
      const object = whole.lookup(path.split(" ")[0]!)!;
      expect(resolutionOf(object, path), path).toBe(
        resolutionOf(eager.lookup(path.split(" ")[0]!)!, path),
      );
    }
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

/** Every field and method under `object`, keyed "<owner full name> <member>", with what it
 * resolves to and the features it settles with. */
function resolutions(object: protobuf.ReflectionObject): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (o: protobuf.ReflectionObject): void => {
    if (o instanceof protobuf.Type || o instanceof protobuf.Service) {
      const members = o instanceof protobuf.Type ? o.fieldsArray : o.methodsArray;
      for (const member of members) {
        const path = `${o.fullName.slice(1)} ${member.name}`;
        out.set(path, resolutionOf(o, path));
      }
    }
    if (o instanceof protobuf.Namespace) for (const nested of o.nestedArray) visit(nested);
  };
  visit(object);
  return out;
}

function resolutionOf(owner: protobuf.ReflectionObject, path: string): string {
  const member = path.split(" ")[1]!;
  if (owner instanceof protobuf.Service) {
    const method = owner.methods[member]!;
    method.resolve();
    return `${method.resolvedRequestType?.fullName} -> ${method.resolvedResponseType?.fullName}`;
  }
  const field = (owner as protobuf.Type).fields[member]!.resolve();
  return `${field.resolvedType?.fullName ?? field.type} ${JSON.stringify(featuresOf(field))}`;
}
