// The field-by-field serializer must write the bytes protobufjs's reflection-based one writes.
import { describe, expect, it } from "vitest";
import {
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
  decodeDeltaResponse,
  decodeDiscoveryResponse,
  encodeDeltaResponse,
  encodeDiscoveryResponse,
} from "../discovery-messages.ts";
import { type AnyMessage, encodeResource } from "../resource-codec.ts";
import {
  scratchAllocator,
  serializeDeltaDiscoveryResponse,
  serializeDiscoveryResponse,
  shareResourceList,
} from "./response-wire.ts";
import { CDS, cluster, EDS, endpoints } from "./test-support.ts";

const big = { ...cluster("big"), alt_stat_name: "x".repeat(70_000) };

describe("response wire", () => {
  it("writes a DiscoveryResponse as protobufjs does", () => {
    const response: DiscoveryResponse = {
      version_info: "v1-ünïcode",
      resources: [
        encodeResource(CDS, cluster("a")),
        encodeResource(CDS, big),
        { type_url: CDS, value: new Uint8Array() },
      ],
      type_url: CDS,
      nonce: "n-1",
    };
    const bytes = serializeDiscoveryResponse(response);
    expect(bytes).toEqual(encodeDiscoveryResponse(response));
    expect(decodeDiscoveryResponse(bytes)).toEqual(
      decodeDiscoveryResponse(encodeDiscoveryResponse(response)),
    );
    expect(decodeDiscoveryResponse(bytes).resources[1]!.value).toEqual(
      response.resources[1]!.value,
    );
  });

  it("writes a shared list of resources the same way once it copies it as one block", () => {
    const resources = Object.freeze(
      Array.from({ length: 20 }, (_, i) => encodeResource(CDS, cluster(`c${i}`))),
    );
    shareResourceList(resources);
    for (const nonce of ["n-1", "n-2", "n-3"]) {
      const response = { version_info: "v", resources: [...resources], type_url: CDS, nonce };
      const shared = { ...response, resources: resources as AnyMessage[] };
      expect(serializeDiscoveryResponse(shared)).toEqual(encodeDiscoveryResponse(response));
    }
  });

  it("leaves empty strings out, as proto3 does", () => {
    const response: DiscoveryResponse = {
      version_info: "",
      resources: [],
      type_url: EDS,
      nonce: "",
    };
    const bytes = serializeDiscoveryResponse(response);
    expect(bytes).toEqual(encodeDiscoveryResponse(response));
    expect(decodeDiscoveryResponse(bytes)).toMatchObject({
      version_info: "",
      resources: [],
      type_url: EDS,
      nonce: "",
    });
  });

  it("writes a DeltaDiscoveryResponse as protobufjs does", () => {
    const response: DeltaDiscoveryResponse = {
      system_version_info: "v2",
      resources: [
        { name: "a", version: "h1", resource: encodeResource(EDS, endpoints("a", 1)) },
        { name: "big", version: "h2", resource: encodeResource(CDS, big) },
        { name: "gone-but-listed", version: "" },
      ],
      type_url: EDS,
      removed_resources: ["x", "", "ÿ"],
      nonce: "n-2",
    };
    const bytes = serializeDeltaDiscoveryResponse(response);
    expect(bytes).toEqual(encodeDeltaResponse(response));
    expect(decodeDeltaResponse(bytes)).toEqual(decodeDeltaResponse(encodeDeltaResponse(response)));
  });

  it("writes each response whole after a larger one, a failed one, and into a scratch buffer", () => {
    const scratch = scratchAllocator();
    const large: DiscoveryResponse = {
      version_info: "v1",
      resources: [encodeResource(CDS, big), encodeResource(CDS, cluster("a"))],
      type_url: CDS,
      nonce: "n-1",
    };
    const small: DiscoveryResponse = { ...large, resources: [large.resources[1]!], nonce: "n-2" };
    const broken = {
      ...large,
      resources: [large.resources[1]!, undefined as unknown as AnyMessage],
    };
    expect(Buffer.from(serializeDiscoveryResponse(large, scratch))).toEqual(
      encodeDiscoveryResponse(large),
    );
    expect(() => serializeDiscoveryResponse(broken, scratch)).toThrow();
    expect(serializeDiscoveryResponse(small, scratch)).toEqual(encodeDiscoveryResponse(small));
  });

  it("keeps a scratch response until that allocator's next one, and fresh ones for good", () => {
    const scratch = scratchAllocator();
    const other = scratchAllocator();
    const response = (nonce: string): DiscoveryResponse => ({
      version_info: "v",
      resources: [encodeResource(CDS, cluster(nonce))],
      type_url: CDS,
      nonce,
    });
    const first = serializeDiscoveryResponse(response("a"), scratch);
    const own = serializeDiscoveryResponse(response("b"));
    serializeDiscoveryResponse(response("c"), other);
    serializeDiscoveryResponse(response("d"));
    expect(first).toEqual(encodeDiscoveryResponse(response("a")));
    expect(own).toEqual(encodeDiscoveryResponse(response("b")));
    const small = scratchAllocator(64);
    const large = serializeDiscoveryResponse(
      { ...response("e"), resources: [encodeResource(CDS, big)] },
      small,
    );
    serializeDiscoveryResponse(response("f"), small);
    expect(decodeDiscoveryResponse(large).nonce).toBe("e");
  });
});
