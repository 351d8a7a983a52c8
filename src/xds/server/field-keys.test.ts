// Keys come from the descriptors, and only for what is written or read field by field.
import { describe, expect, it } from "vitest";
import { messageType } from "../envoy-protos.ts";
import { keysOf, lengthDelimitedKey } from "./field-keys.ts";

const RESPONSE = "envoy.service.discovery.v3.DiscoveryResponse";

describe("field keys", () => {
  it("gives a field's number with the length-delimited wire type", () => {
    const keys = keysOf(RESPONSE, ["version_info", "resources", "type_url"])();
    // discovery.proto: version_info = 1, resources = 2, type_url = 4.
    expect(keys).toEqual({ version_info: 0x0a, resources: 0x12, type_url: 0x22 });
  });

  it("refuses fields that are not length-delimited, unknown ones and lists out of order", () => {
    expect(() => lengthDelimitedKey(messageType(RESPONSE), "canary")).toThrow(/length-delimited/);
    expect(() => lengthDelimitedKey(messageType(RESPONSE), "nope")).toThrow(/length-delimited/);
    expect(() => keysOf(RESPONSE, ["nonce", "type_url"])()).toThrow(/type_url comes before nonce/);
  });
});
