// The reflective decoder on targeted wire input, against protobufjs's own decode + toObject and
// against the JSON spelled out: every scalar kind, packed and unpacked repeated fields, maps
// with missing keys and values, proto3 defaults and optional fields, merging, oneofs, unknown
// fields, well-known types, proto2's closed enums, required fields and groups, and input that
// must be rejected.
import type protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { decodeMessageJson } from "./proto-decode.ts";
import {
  bytesOf,
  END_GROUP,
  expectSameAsProtobufjs,
  FIXED32_WIRE,
  FIXED64_WIRE,
  key,
  LENGTH,
  protobufjsJson,
  START_GROUP,
  VARINT,
} from "./proto-decode-testing.ts";
import type { Json } from "./proto-json.ts";
import { testRoot } from "./proto-test-schema.ts";

describe("targeted wire cases", () => {
  const root = testRoot();
  const all = root.lookupType("t.All");
  const inner = root.lookupType("t.Inner");
  const legacy = root.lookupType("t2.Legacy");
  const encode = (type: protobuf.Type, object: Record<string, unknown>) =>
    type.encode(type.fromObject(object)).finish();

  it("every scalar kind, at its extremes, with fields in number order", () => {
    const bytes = encode(all, {
      last: "written first, emitted last",
      d: -1.5e300,
      f: 0.1,
      i32: -2147483648,
      u32: 4294967295,
      s32: -1,
      fx32: 4294967295,
      sfx32: -2147483648,
      i64: "-9223372036854775808",
      u64: "18446744073709551615",
      s64: "-9223372036854775807",
      fx64: "18446744073709551615",
      sfx64: "-1",
      b: true,
      s: "ünïcødé ✓",
      by: Buffer.from([0, 1, 2, 250, 255]),
      color: 2,
      shade: 4,
    });
    const json = expectSameAsProtobufjs(all, bytes);
    expect(json).toEqual({
      d: -1.5e300,
      f: Math.fround(0.1),
      i32: -2147483648,
      u32: 4294967295,
      s32: -1,
      fx32: 4294967295,
      sfx32: -2147483648,
      i64: "-9223372036854775808",
      u64: "18446744073709551615",
      s64: "-9223372036854775807",
      fx64: "18446744073709551615",
      sfx64: "-1",
      b: true,
      s: "ünïcødé ✓",
      by: "AAEC+v8=",
      color: "BLUE",
      shade: "LIGHT",
      last: "written first, emitted last",
    });
    expect(Object.keys(json as object).at(-1)).toBe("last");
  });

  it("64-bit values around 32 bits, and unknown enum numbers", () => {
    const bytes = bytesOf((w) => {
      key(w, 8, VARINT).int64(4294967295);
      key(w, 9, VARINT).uint64(2147483648);
      key(w, 11, FIXED64_WIRE).fixed64(7);
      key(w, 16, VARINT).int32(99);
      key(w, 17, VARINT).int32(0);
    });
    expect(expectSameAsProtobufjs(all, bytes)).toEqual({
      i64: "4294967295",
      u64: "2147483648",
      fx64: "7",
      color: 99,
      shade: 0,
    });
  });

  it("leaves out proto3 defaults, and a later default clears an earlier value", () => {
    const bytes = bytesOf((w) => {
      key(w, 3, VARINT).int32(5);
      key(w, 3, VARINT).int32(0);
      key(w, 14, LENGTH).string("");
      key(w, 13, VARINT).bool(false);
      key(w, 1, FIXED64_WIRE).double(-0);
      key(w, 16, VARINT).int32(0);
      key(w, 17, VARINT).int32(3);
      key(w, 8, VARINT).int64(0);
    });
    expect(expectSameAsProtobufjs(all, bytes)).toEqual({ d: -0 });
  });

  it("keeps proto3 optional fields set to their defaults", () => {
    const bytes = bytesOf((w) => {
      key(w, 34, VARINT).int32(0);
      key(w, 35, LENGTH).string("");
    });
    expect(expectSameAsProtobufjs(all, bytes)).toEqual({ opt: 0, opt_s: "" });
  });

  it("reads repeated scalars packed and unpacked, even mixed", () => {
    const bytes = bytesOf((w) => {
      key(w, 18, LENGTH).fork().int32(1).int32(-2).int32(300).ldelim();
      key(w, 18, VARINT).int32(4);
      key(w, 19, VARINT).sint64("-9223372036854775808");
      key(w, 19, LENGTH).fork().sint64(5).sint64(-6).ldelim();
      key(w, 20, LENGTH).fork().double(1.25).double(Number.NaN).ldelim();
      key(w, 21, FIXED32_WIRE).float(3.4e38);
      key(w, 22, LENGTH).fork().int32(1).int32(7).int32(0).ldelim();
      key(w, 23, LENGTH).fork().bool(true).bool(false).ldelim();
      key(w, 24, LENGTH).fork().fixed64("18446744073709551615").fixed64(1).ldelim();
      key(w, 25, LENGTH).bytes(Buffer.from("hi"));
      key(w, 25, LENGTH).bytes(new Uint8Array());
      key(w, 26, LENGTH).string("a");
      key(w, 26, LENGTH).string("");
      key(w, 18, LENGTH).fork().ldelim();
    });
    expect(expectSameAsProtobufjs(all, bytes)).toEqual({
      rd: [1.25, Number.NaN],
      ri32: [1, -2, 300, 4],
      rs64: ["-9223372036854775808", "5", "-6"],
      rf: [Math.fround(3.4e38)],
      rcolor: ["GREEN", 7, "RED"],
      rb: [true, false],
      rfx64: ["18446744073709551615", "1"],
      rby: ["aGk=", ""],
      rs: ["a", ""],
    });
  });

  it("leaves out empty repeated fields and maps", () => {
    const bytes = bytesOf((w) => {
      key(w, 18, LENGTH).fork().ldelim();
    });
    expect(expectSameAsProtobufjs(all, bytes)).toEqual({});
  });

  it("reads maps, also with missing keys or values and repeated keys", () => {
    const bytes = bytesOf((w) => {
      key(w, 29, LENGTH).fork();
      key(w, 1, LENGTH).string("b");
      key(w, 2, LENGTH).fork();
      key(w, 1, LENGTH).string("bee");
      w.ldelim().ldelim();
      key(w, 29, LENGTH).fork();
      key(w, 1, LENGTH).string("a");
      w.ldelim();
      key(w, 29, LENGTH).fork();
      key(w, 2, LENGTH).fork();
      key(w, 2, VARINT).int32(3);
      w.ldelim().ldelim();
      key(w, 30, LENGTH).fork();
      key(w, 1, LENGTH).string("10");
      key(w, 2, LENGTH).string("ten");
      w.ldelim();
      key(w, 30, LENGTH).fork();
      key(w, 1, LENGTH).string("x");
      key(w, 2, LENGTH).string("first");
      w.ldelim();
      key(w, 30, LENGTH).fork();
      key(w, 1, LENGTH).string("2");
      w.ldelim();
      key(w, 30, LENGTH).fork();
      key(w, 2, LENGTH).string("second");
      key(w, 1, LENGTH).string("x");
      key(w, 3, VARINT).int32(1);
      w.ldelim();
      key(w, 30, LENGTH).fork();
      key(w, 1, LENGTH).string("__proto__");
      key(w, 2, LENGTH).string("own");
      w.ldelim();
      key(w, 31, LENGTH).fork();
      key(w, 1, VARINT).int64("-9223372036854775808");
      key(w, 2, LENGTH).string("min");
      w.ldelim();
      key(w, 31, LENGTH).fork();
      key(w, 1, VARINT).int64(5);
      key(w, 2, LENGTH).string("five");
      w.ldelim();
      key(w, 31, LENGTH).fork();
      key(w, 2, LENGTH).string("zero");
      w.ldelim();
      key(w, 32, LENGTH).fork();
      key(w, 1, VARINT).bool(true);
      key(w, 2, VARINT).int32(9);
      w.ldelim();
      key(w, 32, LENGTH).fork();
      w.ldelim();
      key(w, 33, LENGTH).fork();
      key(w, 1, VARINT).uint32(4294967295);
      key(w, 2, LENGTH).bytes(Buffer.from([1]));
      w.ldelim();
      key(w, 33, LENGTH).fork();
      key(w, 1, VARINT).uint32(1);
      w.ldelim();
      key(w, 48, LENGTH).fork();
      key(w, 1, LENGTH).string("idle");
      w.ldelim();
    });
    const json = expectSameAsProtobufjs(all, bytes) as Record<string, Record<string, Json>>;
    expect(json.by_name).toEqual({ b: { s: "bee" }, a: {}, "": { i: 3 } });
    expect(Object.keys(json.labels!)).toEqual(["2", "10", "x", "__proto__"]);
    expect(json.labels!.x).toBe("second");
    expect(Object.hasOwn(json.labels!, "__proto__")).toBe(true);
    expect(json.by_id).toEqual({ "5": "five", "0": "zero", "-9223372036854775808": "min" });
    expect(json.flags).toEqual({ true: 9, false: "RED" });
    expect(json.blobs).toEqual({ "1": "", "4294967295": "AQ==" });
    expect(json.timeouts).toEqual({ idle: "0s" });
  });

  it("merges a message given twice and keeps the last member of a oneof", () => {
    const bytes = bytesOf((w) => {
      key(w, 27, LENGTH).bytes(encode(inner, { s: "one", tags: ["a"], child: { i: 1 } }));
      key(w, 27, LENGTH).bytes(encode(inner, { i: 2, tags: ["b"], child: { s: "x" } }));
      key(w, 37, LENGTH).bytes(encode(inner, { s: "detail" }));
      key(w, 36, LENGTH).string("text wins over detail");
      key(w, 38, VARINT).int32(0);
      key(w, 37, LENGTH).bytes(encode(inner, { i: 5 }));
    });
    expect(expectSameAsProtobufjs(all, bytes)).toEqual({
      inner: { s: "one", i: 2, tags: ["a", "b"], child: { s: "x", i: 1 } },
      detail: { i: 5 },
    });
  });

  it("skips unknown fields of every wire type, and known fields with another wire type", () => {
    const bytes = bytesOf((w) => {
      key(w, 900, VARINT).uint64("18446744073709551615");
      key(w, 901, FIXED64_WIRE).fixed64(1);
      key(w, 902, LENGTH).string("unknown");
      key(w, 903, START_GROUP);
      key(w, 1, VARINT).int32(1);
      key(w, 2, START_GROUP);
      key(w, 3, LENGTH).string("nested group");
      key(w, 2, END_GROUP);
      key(w, 903, END_GROUP);
      key(w, 904, FIXED32_WIRE).fixed32(1);
      key(w, 14, VARINT).int32(1);
      key(w, 27, VARINT).int32(1);
      key(w, 29, FIXED32_WIRE).fixed32(1);
      key(w, 3, LENGTH).string("not a varint");
      key(w, 3, VARINT).int32(8);
    });
    expect(expectSameAsProtobufjs(all, bytes)).toEqual({ i32: 8 });
  });

  it("maps Any, Struct, Value, ListValue, Duration and wrappers", () => {
    const nested = encode(root.lookupType("google.protobuf.Any"), {
      type_url: "type.googleapis.com/t.Inner",
      value: encode(inner, { s: "deep" }),
    });
    const nestedUnknown = encode(root.lookupType("google.protobuf.Any"), {
      type_url: "type.googleapis.com/no.such.Inner",
      value: Buffer.from([9]),
    });
    const bytes = encode(all, {
      any: { type_url: "type.googleapis.com/t.Inner", value: encode(inner, { s: "in", i: 1 }) },
      anys: [
        { type_url: "type.googleapis.com/no.such.Type", value: Buffer.from([1, 2, 3]) },
        { type_url: "type.googleapis.com/google.protobuf.Any", value: nested },
        { type_url: "type.googleapis.com/google.protobuf.Any", value: nestedUnknown },
        { type_url: "type.googleapis.com/google.protobuf.Duration", value: Buffer.from([8, 3]) },
        { type_url: "t.Empty" },
        {},
      ],
      struct: {
        fields: {
          n: { numberValue: 1.5 },
          list: {
            listValue: {
              values: [
                { stringValue: "s" },
                { listValue: { values: [{ boolValue: false }, { nullValue: 0 }] } },
                { structValue: { fields: { deep: { structValue: {} } } } },
                {},
              ],
            },
          },
        },
      },
      value: { stringValue: "v" },
      list: { values: [{ numberValue: -1 }] },
      timeout: { seconds: "-3", nanos: -500000000 },
      big: { value: "18446744073709551615" },
      blob: { value: Buffer.from([255]) },
      flag: {},
    });
    expect(expectSameAsProtobufjs(all, bytes)).toEqual({
      any: { "@type": "type.googleapis.com/t.Inner", s: "in", i: 1 },
      anys: [
        { "@type": "type.googleapis.com/no.such.Type", value: "AQID" },
        {
          "@type": "type.googleapis.com/google.protobuf.Any",
          value: { "@type": "type.googleapis.com/t.Inner", s: "deep" },
        },
        {
          "@type": "type.googleapis.com/google.protobuf.Any",
          value: { "@type": "type.googleapis.com/no.such.Inner", value: "CQ==" },
        },
        { "@type": "type.googleapis.com/google.protobuf.Duration", value: "3s" },
        { "@type": "t.Empty" },
        { "@type": "", value: "" },
      ],
      struct: { n: 1.5, list: ["s", [false, null], { deep: {} }, null] },
      value: "v",
      list: [-1],
      timeout: "-3.5s",
      big: "18446744073709551615",
      blob: "/w==",
      flag: false,
    });
  });

  it("decodes the last of repeated oneof members in a Value", () => {
    const value = root.lookupType("google.protobuf.Value");
    const bytes = bytesOf((w) => {
      key(w, 3, LENGTH).string("first");
      key(w, 2, FIXED64_WIRE).double(2);
    });
    expect(expectSameAsProtobufjs(value, bytes)).toBe(2);
  });

  it("drops unknown numbers of closed (proto2) enums and checks required fields", () => {
    const bytes = bytesOf((w) => {
      key(w, 1, LENGTH).string("id");
      key(w, 2, VARINT).int32(2);
      key(w, 2, VARINT).int32(9);
      key(w, 3, VARINT).int32(1);
      key(w, 3, VARINT).int32(9);
      key(w, 3, LENGTH).fork().int32(9).int32(2).ldelim();
      key(w, 4, VARINT).int32(0);
      key(w, 5, LENGTH).fork();
      key(w, 1, LENGTH).string("unknown");
      key(w, 2, VARINT).int32(9);
      w.ldelim();
      key(w, 5, LENGTH).fork();
      key(w, 1, LENGTH).string("known");
      key(w, 2, VARINT).int32(1);
      w.ldelim();
      key(w, 7, VARINT).int32(3);
      key(w, 7, LENGTH).fork().int32(4).ldelim();
    });
    expect(expectSameAsProtobufjs(legacy, bytes)).toEqual({
      id: "id",
      level: "HIGH",
      levels: ["LOW", "HIGH"],
      n: 0,
      by_level: { known: "LOW" },
      packed_ints: [3, 4],
    });
    const missing = bytesOf((w) => key(w, 4, VARINT).int32(1));
    expect(() => protobufjsJson(legacy, missing)).toThrow(/missing required 'id'/);
    expect(() => decodeMessageJson(legacy, missing)).toThrow(/missing required 'id'/);
  });

  it("reads group-encoded (delimited) messages", () => {
    const bytes = bytesOf((w) => {
      key(w, 1, LENGTH).string("id");
      key(w, 6, START_GROUP);
      key(w, 1, VARINT).int32(1);
      key(w, 6, END_GROUP);
      key(w, 6, START_GROUP);
      key(w, 2, LENGTH).string("merged");
      key(w, 6, END_GROUP);
    });
    expect(expectSameAsProtobufjs(legacy, bytes)).toEqual({
      id: "id",
      extra: { a: 1, b: "merged" },
    });
  });

  it("rejects what protobufjs rejects", () => {
    const cases: Array<[string, protobuf.Type, Uint8Array]> = [
      ["truncated varint", all, Uint8Array.of(0x18, 0x80)],
      ["length past the end", all, Uint8Array.of(0x72, 0x05, 0x61)],
      ["invalid wire type", all, Uint8Array.of(0x1e, 0x01)],
      ["unexpected end group", all, Uint8Array.of(0x1c)],
      ["field number 0", all, Uint8Array.of(0x00, 0x01)],
      ["unterminated group", legacy, bytesOf((w) => key(w, 6, START_GROUP))],
      ["mismatched end group", all, Uint8Array.of(0x1b, 0x24)],
      ["invalid UTF-8", all, Uint8Array.of(0x72, 0x02, 0xc3, 0x28)],
      ["packed run cut mid-value", all, Uint8Array.of(0xc2, 0x01, 0x03, 0x00, 0x00, 0x80)],
      ["map entry past its message", all, Uint8Array.of(0xf2, 0x01, 0x09, 0x0a, 0x01)],
      ["unknown group in an empty message", root.lookupType("t.Empty"), Uint8Array.of(0x0b, 0x0c)],
    ];
    for (const [label, type, bytes] of cases) {
      expect(() => protobufjsJson(type, bytes), label).toThrow(Error);
      expect(() => decodeMessageJson(type, bytes), label).toThrow(Error);
    }
  });

  it("skips the fields of a message that declares none", () => {
    const empty = root.lookupType("t.Empty");
    expectSameAsProtobufjs(
      empty,
      bytesOf((w) => key(w, 5, LENGTH).string("skipped")),
    );
  });
});
