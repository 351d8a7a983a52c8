// The reflective decoder against protobufjs's own decode + toObject (the path decodeJson took
// before, still reachable as messageToJson(type, type.decode(bytes))): the same JSON, key order
// included, for every resource crema's golden translations produce, for a captured xDS push
// (testdata/captured-push.json: Clusters, Listeners, RouteConfigurations and
// ClusterLoadAssignments a sidecar received, as [{t: type URL, v: base64}]), for corrupted input
// and for deep nesting. proto-decode-wire.test.ts has the targeted wire cases.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CremaError } from "../base/errors.ts";
import { envoyProtos } from "./envoy-protos.ts";
import {
  envoyType,
  goldenResources,
  goldenTypedConfigs,
  typedConfigs,
} from "./golden-resources-testing.ts";
import { decodeMessageJson } from "./proto-decode.ts";
import {
  bytesOf,
  expectIdentical,
  expectSameAsProtobufjs,
  key,
  LENGTH,
  protobufjsJson,
} from "./proto-decode-testing.ts";
import { encodeJson, type Json } from "./proto-json.ts";

describe("the comparison", () => {
  it("notices other values and another key order", () => {
    expect(() => expectIdentical({ a: "1" }, { a: 1 })).toThrow();
    expect(() => expectIdentical({ a: 1, b: 2 }, { b: 2, a: 1 })).toThrow();
    expect(() => expectIdentical({ a: [1, 2] }, { a: [1, 2] })).not.toThrow();
  });
});

describe("decoding crema's golden translations", () => {
  const resources = goldenResources();

  it("gives protobufjs's JSON for every resource", () => {
    expect(resources.length).toBeGreaterThan(200);
    for (const { label, type, json } of resources)
      expectSameAsProtobufjs(type, encodeJson(type, json), label);
  });

  it("and for every typed config of the authn and authz goldens, as an Any", () => {
    const any = envoyProtos().lookupType("google.protobuf.Any");
    const configs = goldenTypedConfigs();
    expect(configs.length).toBeGreaterThan(20);
    for (const config of configs)
      expectSameAsProtobufjs(any, encodeJson(any, config), String(config["@type"]));
  });
});

describe("decoding a captured xDS push", () => {
  const push = JSON.parse(
    readFileSync(join(import.meta.dirname, "testdata/captured-push.json"), "utf8"),
  ) as Array<{ t: string; v: string }>;

  it("gives protobufjs's JSON for every resource", () => {
    expect(push.length).toBeGreaterThan(10);
    const anyTypes = new Set<string>();
    for (const [i, { t, v }] of push.entries()) {
      const json = expectSameAsProtobufjs(envoyType(t), Buffer.from(v, "base64"), `#${i} ${t}`);
      for (const config of typedConfigs(json)) anyTypes.add(String(config["@type"]));
    }
    expect(anyTypes.size).toBeGreaterThan(15);
  });

  it("reads a plain Uint8Array as it reads a Buffer", () => {
    for (const { t, v } of push) {
      const buffer = Buffer.from(v, "base64");
      expectIdentical(
        decodeMessageJson(envoyType(t), new Uint8Array(buffer)),
        protobufjsJson(envoyType(t), buffer),
      );
    }
  });

  it("throws an Error or gives protobufjs's answer for corrupted resources", () => {
    let seed = 20_145;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed % n;
    };
    const outcome = (decode: () => Json) => {
      try {
        return { json: decode() };
      } catch (error) {
        expect(error).toBeInstanceOf(Error);
        return { error };
      }
    };
    let decoded = 0;
    for (let round = 0; round < 2000; round++) {
      const { t, v } = push[random(push.length)]!;
      const type = envoyType(t);
      let bytes = Buffer.from(v, "base64");
      if (round % 3 === 0) bytes = bytes.subarray(0, random(bytes.length));
      else
        for (let flips = 1 + random(4); flips > 0; flips--) {
          const at = random(bytes.length);
          bytes[at] = round % 3 === 1 ? bytes[at]! ^ (1 << random(8)) : random(256);
        }
      const ours = outcome(() => decodeMessageJson(type, bytes));
      const theirs = outcome(() => protobufjsJson(type, bytes));
      expect("error" in ours, `round ${round}`).toBe("error" in theirs);
      if (ours.json !== undefined) {
        expectIdentical(ours.json, theirs.json, `round ${round}`);
        decoded++;
      }
    }
    // Both kinds of outcome occur: the corruption is neither always fatal nor always harmless.
    expect(decoded).toBeGreaterThan(100);
    expect(decoded).toBeLessThan(1900);
  });
});

describe("deep nesting", () => {
  const any = envoyProtos().lookupType("google.protobuf.Any");
  const struct = envoyProtos().lookupType("google.protobuf.Struct");

  /** A Struct holding a Struct … `levels` deep; each level is three messages deep on the wire. */
  function nestedStruct(levels: number): Uint8Array {
    let bytes = bytesOf(() => {});
    for (let i = 0; i < levels; i++) {
      const value = bytesOf((w) => key(w, 5, LENGTH).bytes(bytes));
      const entry = bytesOf((w) => {
        key(w, 1, LENGTH).string("k");
        key(w, 2, LENGTH).bytes(value);
      });
      bytes = bytesOf((w) => key(w, 1, LENGTH).bytes(entry));
    }
    return bytes;
  }

  function anyChain(levels: number): Uint8Array {
    let bytes = encodeJson(any, { "@type": "type.googleapis.com/google.protobuf.Empty" });
    for (let i = 0; i < levels; i++)
      bytes = any
        .encode({ type_url: "type.googleapis.com/google.protobuf.Any", value: bytes })
        .finish();
    return bytes;
  }

  it("stops at protobufjs's limit of 100 nested messages, as protobufjs does", () => {
    expectSameAsProtobufjs(struct, nestedStruct(49));
    expect(() => protobufjsJson(struct, nestedStruct(60))).toThrow("max depth exceeded");
    expect(() => decodeMessageJson(struct, nestedStruct(60))).toThrow("max depth exceeded");
  });

  it("refuses Anys nested past 500 messages instead of overflowing the stack", () => {
    expectSameAsProtobufjs(any, anyChain(400));
    for (const levels of [501, 2_000]) {
      let thrown: unknown;
      try {
        decodeMessageJson(any, anyChain(levels));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CremaError);
      expect((thrown as CremaError).code).toBe("CREMA_XDS_INVALID_RESOURCE");
    }
  });
});
