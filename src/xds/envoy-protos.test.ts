import { describe, expect, it } from "vitest";
import descriptors from "./envoy-descriptors.generated.json" with { type: "json" };
import { envoyProtos, loadEnvoyProtoFiles } from "./envoy-protos.ts";

describe("Envoy's protos", () => {
  it("the generated descriptors equal the .proto files (node scripts/generate-envoy-descriptors.ts refreshes them)", () => {
    expect(loadEnvoyProtoFiles().toJSON({ keepComments: false })).toEqual(descriptors);
  });

  it("load every message crema encodes, with the protos' own field names", () => {
    const listener = envoyProtos().lookupType("envoy.config.listener.v3.Listener");
    expect(listener.fields.filter_chains).toBeDefined();
    expect(envoyProtos().lookupType("envoy.extensions.filters.http.rbac.v3.RBAC")).toBeDefined();
  });
});
