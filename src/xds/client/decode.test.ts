// Decoding a response's resources: names, per-resource errors, and the NACK message's bound.
import { describe, expect, it } from "vitest";
import { encodeResource } from "../resource-codec.ts";
import { decodeResources, nackMessage, resourceName } from "./decode.ts";
import { CDS, EDS, LDS, listener } from "./test-support.ts";

describe("decodeResources", () => {
  it("names resources by name, endpoints by cluster_name, and delta's name first", () => {
    const endpoints = { cluster_name: "outbound|80||web", endpoints: [] };
    expect(resourceName(EDS, endpoints)).toBe("outbound|80||web");
    expect(resourceName(LDS, listener("a"))).toBe("a");
    expect(resourceName(LDS, {})).toBeUndefined();
    const decoded = decodeResources(LDS, [
      { any: encodeResource(LDS, listener("a")), version: "1" },
      { any: encodeResource(LDS, listener("b")), name: "alias", version: "2" },
    ]);
    expect(decoded.errors).toEqual([]);
    expect([...decoded.resources]).toEqual([
      ["a", { json: listener("a"), version: "1" }],
      ["alias", { json: listener("b"), version: "2" }],
    ]);
  });

  it("reports every bad resource: wrong type, undecodable, nameless, duplicate, bodiless", () => {
    const decoded = decodeResources(LDS, [
      { any: encodeResource(CDS, { name: "c" }), version: "" },
      { any: { type_url: LDS, value: Uint8Array.from([0x0a, 0xff]) }, name: "x", version: "" },
      { any: encodeResource(LDS, {}), version: "" },
      { any: encodeResource(LDS, listener("a")), version: "" },
      { any: encodeResource(LDS, listener("a")), version: "" },
      { any: null, name: "gone", version: "" },
    ]);
    expect(decoded.resources.size).toBe(1);
    expect(decoded.errors).toEqual([
      `resource #0: type ${CDS} in a response for ${LDS}`,
      expect.stringMatching(/^resource "x": cannot decode: /),
      "resource #2: the resource has no name",
      'resource "a" appears more than once',
      'resource "gone": no resource body',
    ]);
  });
});

describe("nackMessage", () => {
  it("joins errors one per line and cuts very long messages", () => {
    expect(nackMessage(["a", "b"])).toBe("a\nb");
    const many = Array.from({ length: 2000 }, (_, i) => `error number ${i} is quite long`);
    const message = nackMessage(many);
    expect(message.length).toBeLessThan(17 * 1024);
    expect(message).toMatch(/… \(cut; 2000 error\(s\) in all, \d+ not shown\)$/);
  });
});
