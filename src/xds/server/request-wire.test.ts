// The direct reader must say what protobufjs's decoder says, and hand it whatever it cannot read.
import { describe, expect, it } from "vitest";
import {
  type DiscoveryRequest,
  decodeDiscoveryRequest,
  encodeDiscoveryRequest,
} from "../discovery-messages.ts";
import { readDiscoveryRequest } from "./request-wire.ts";
import { EDS, request } from "./test-support.ts";

const same = (value: DiscoveryRequest) => {
  const bytes = encodeDiscoveryRequest(value);
  expect(readDiscoveryRequest(bytes)).toEqual(decodeDiscoveryRequest(bytes));
};

describe("request wire", () => {
  it("reads an ACK with many names as protobufjs does", () => {
    const names = Array.from({ length: 300 }, (_, i) => `outbound|80||svc-${i}.default.svc`);
    same(request(EDS, names, { version_info: "v1", response_nonce: "n-1" }));
    same(request(EDS, [], {}));
    same(request(EDS, ["", "a"], {}));
  });

  it("gives the same frozen list again for names whose bytes it has lately read", () => {
    const names = Array.from({ length: 100 }, (_, i) => `outbound|80||svc-${i}.default.svc`);
    const first = readDiscoveryRequest(encodeDiscoveryRequest(request(EDS, names, {})));
    const again = readDiscoveryRequest(
      encodeDiscoveryRequest(request(EDS, names, { version_info: "v2", response_nonce: "n-2" })),
    );
    expect(again.resource_names).toBe(first.resource_names);
    expect(Object.isFrozen(again.resource_names)).toBe(true);
    expect(again).toMatchObject({ version_info: "v2", response_nonce: "n-2" });
    const other = readDiscoveryRequest(
      encodeDiscoveryRequest(request(EDS, [...names.slice(1), "x".repeat(26)], {})),
    );
    expect(other.resource_names).not.toBe(first.resource_names);
    expect(other.resource_names.at(-1)).toBe("x".repeat(26));
  });

  it("leaves a node, an error detail, non-ASCII and long strings to protobufjs", () => {
    same(request(EDS, ["a"], { node: { id: "sidecar~10.0.0.1~a.ns~ns.svc.cluster.local" } }));
    same(request(EDS, ["a"], { error_detail: { code: 3, message: "bad" }, response_nonce: "n" }));
    same(request(EDS, ["ünïcode"], {}));
    same(request(EDS, ["x".repeat(300)], {}));
  });

  it("rejects what protobufjs rejects", () => {
    const truncated = encodeDiscoveryRequest(request(EDS, ["abc"], {})).subarray(0, 10);
    expect(() => decodeDiscoveryRequest(truncated)).toThrow();
    expect(() => readDiscoveryRequest(truncated)).toThrow();
    const names = Array.from({ length: 100 }, (_, i) => `outbound|80||svc-${i}.default.svc`);
    const cut = encodeDiscoveryRequest(request(EDS, names, { response_nonce: "n" })).subarray(
      0,
      900,
    );
    expect(() => readDiscoveryRequest(cut)).toThrow();
  });
});
