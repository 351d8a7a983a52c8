// The reflective encoder on targeted input, against the old path (proto-json.ts's mapping, then
// protobufjs's fromObject + encode) and against bytes spelled out: every scalar kind at its
// extremes and given as odd JSON, bytes, enums by name, number and unknown, packed and unpacked
// repeated fields, maps of every key kind, proto3 defaults and optional fields, oneofs, Any
// (known, unknown, nested), Struct/Value/ListValue, Duration, wrappers, proto2; a table of bad
// input with the old path's messages; and where the new encoder deliberately differs.
import type protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { CremaError } from "../base/errors.ts";
import { bytesOf, FIXED64_WIRE, key, LENGTH, VARINT } from "./proto-decode-testing.ts";
import { encodeMessageJson } from "./proto-encode.ts";
import { expectSameAsProtobufjs, protobufjsEncode } from "./proto-encode-testing.ts";
import { testRoot } from "./proto-test-schema.ts";

const root = testRoot();
const all = root.lookupType("t.All");
const legacy = root.lookupType("t2.Legacy");
const any = root.lookupType("google.protobuf.Any");
const struct = root.lookupType("google.protobuf.Struct");
const URL = "type.googleapis.com/";

/** Expects the old path's bytes, and returns them. */
function same(type: protobuf.Type, json: unknown): Buffer {
  const { ours } = expectSameAsProtobufjs(type, json, JSON.stringify(json));
  expect(ours).toHaveProperty("bytes");
  return Buffer.from((ours as { bytes: string }).bytes, "hex");
}

function thrown(encode: () => unknown): CremaError {
  try {
    encode();
  } catch (error) {
    expect(error).toBeInstanceOf(CremaError);
    expect((error as CremaError).code).toBe("CREMA_XDS_INVALID_RESOURCE");
    return error as CremaError;
  }
  throw new Error("did not throw");
}

describe("scalars", () => {
  it("every kind at its extremes, written in field-number order", () => {
    const bytes = same(all, {
      last: "given first, written last",
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
      by: "AAEC+v8=",
      color: "BLUE",
      shade: "LIGHT",
    });
    expect(bytes.subarray(0, 9)).toEqual(bytesOf((w) => key(w, 1, FIXED64_WIRE).double(-1.5e300)));
    expect(bytes.subarray(-27).toString()).toContain("given first, written last");
  });

  it("64-bit integers as strings and as numbers, beyond 2^53 and negative", () => {
    for (const value of [
      "9007199254740993",
      2 ** 53 + 2,
      "-9223372036854775808",
      -1,
      "-1",
      1.5,
      -1.5,
      2 ** 64,
      -(2 ** 64),
      "18446744073709551616",
      "0x10",
      "abc",
      "NaN",
      "Infinity",
      " 12",
      true,
      [],
      [7],
      {},
      { low: 5, high: 1 },
      { low: 0, high: 0 },
    ])
      for (const field of ["i64", "u64", "s64", "fx64", "sfx64"]) same(all, { [field]: value });
    expect(same(all, { u64: -1 })).toEqual(Buffer.from([])); // long.js: a negative unsigned is 0
  });

  it("32-bit integers, floats, bools and strings given other JSON", () => {
    const odd = [
      0,
      -0,
      "0",
      "-0",
      1e10,
      -1e10,
      2.9,
      "12",
      "abc",
      "",
      " ",
      true,
      false,
      [],
      [5],
      {},
    ];
    for (const value of [...odd, Number.NaN, Number.POSITIVE_INFINITY, "NaN", "-Infinity"])
      for (const field of ["i32", "u32", "s32", "fx32", "sfx32", "d", "f", "b", "s", "last"])
        same(all, { [field]: value });
    expect(same(all, { s: 5 })).toEqual(bytesOf((w) => key(w, 14, LENGTH).string("5")));
    expect(same(all, { b: "false" })).toEqual(bytesOf((w) => key(w, 13, VARINT).bool(true)));
    expect(same(all, { d: -0 })).toEqual(bytesOf((w) => key(w, 1, FIXED64_WIRE).double(-0)));
  });

  it("bytes as base64 (standard, URL-safe, unpadded) and as lists of numbers", () => {
    for (const value of ["", "AA==", "AA", "_-8=", "aGVsbG8", "AAEC+v8=", [], [1, 2, 300], ["a"]])
      for (const field of ["by", "rby", "blob"])
        same(all, { [field]: field === "rby" ? [value] : value });
    same(all, { blobs: { 1: "AAE=", 2: "" } });
  });

  it("enums by name, by number, unknown names and numbers", () => {
    for (const value of ["GREEN", "RED", 1, 0, 7, -3, 1.5, "7", "PURPLE", "toString", true, {}])
      for (const field of ["color", "shade", "rcolor", "flags"])
        same(
          all,
          field === "rcolor"
            ? { rcolor: [value, "BLUE"] }
            : field === "flags"
              ? { flags: { true: value } }
              : { [field]: value },
        );
    expect(same(all, { color: "PURPLE" })).toEqual(Buffer.from([]));
    expect(same(all, { color: 7 })).toEqual(bytesOf((w) => key(w, 16, VARINT).int32(7)));
  });

  it("proto3 defaults are left out, optional fields kept at them", () => {
    expect(same(all, { i32: 0, s: "", b: false, d: 0, color: "RED", i64: "0", by: "" })).toEqual(
      Buffer.from([]),
    );
    expect(same(all, { opt: 0, opt_s: "" })).toEqual(
      bytesOf((w) => {
        key(w, 34, VARINT).int32(0);
        key(w, 35, LENGTH).string("");
      }),
    );
    same(all, { opt: "abc", opt_s: 0 });
  });
});

describe("repeated fields and maps", () => {
  it("packs repeated scalars, and leaves empty ones out", () => {
    const bytes = same(all, {
      ri32: [1, -2, 300],
      rs64: ["-9223372036854775808", 5, "-6"],
      rd: [1.25, "NaN", "x"],
      rf: [3.4e38],
      rcolor: ["GREEN", 7, "RED", "NOPE"],
      rb: [true, 0, "x"],
      rfx64: ["18446744073709551615", 1],
      rby: ["aGk=", ""],
      rs: ["a", "", 3, null],
    });
    const packed = bytesOf((w) => key(w, 18, LENGTH).fork().int32(1).int32(-2).int32(300).ldelim());
    expect(bytes.subarray(0, packed.length)).toEqual(Buffer.from(packed));
    expect(same(all, { ri32: [], rs: [], inners: [] })).toEqual(Buffer.from([]));
    expect(same(all, { ri32: [1, 2] })).toEqual(
      bytesOf((w) => key(w, 18, LENGTH).fork().int32(1).int32(2).ldelim()),
    );
  });

  it("writes proto2's unpacked and explicitly packed repeated fields", () => {
    same(legacy, { id: "x", levels: ["LOW", "HIGH", 3], packed_ints: [1, -1] });
  });

  it("repeated messages, also null elements of wrappers", () => {
    same(all, { inners: [{ s: "a" }, {}, { child: { i: 3 } }] });
  });

  it("maps of every key kind, in the object's key order", () => {
    same(all, {
      by_name: { b: { s: "bee" }, a: {}, __proto__: { i: 1 } },
      labels: { z: "1", 10: "ten", 2: "two", x: "", y: null, w: 5 },
      by_id: { "-9223372036854775808": "min", 5: "five", abc: "?" },
      flags: { true: "GREEN", false: 0, 1: "BLUE", x: "NOPE" },
      blobs: { 0: "AA==", 4294967295: "", "-1": "AQ==" },
      timeouts: { a: "1s", b: "-0.5s" },
    });
  });
});

describe("oneofs and message fields", () => {
  it("writes a oneof member when set, even to its default, and every member given", () => {
    expect(same(all, { number: 0 })).toEqual(bytesOf((w) => key(w, 38, VARINT).int32(0)));
    same(all, { text: "a", number: 2, detail: { s: "d" } });
  });

  it("writes an empty message field", () => {
    expect(same(all, { inner: {} })).toEqual(bytesOf((w) => key(w, 27, LENGTH).fork().ldelim()));
  });

  it("takes camelCase keys and the last of two keys for one field", () => {
    same(all, { optS: "camel" });
    same(all, { opt_s: "first", optS: "second" });
    same(all, { opt_s: "first", optS: null });
    same(all, { by_name: { a: { s: 1 } }, byName: { b: {} } });
  });
});

describe("well-known types", () => {
  it("Duration, negative and with fractions", () => {
    for (const value of [
      "0s",
      "-0s",
      "1.5s",
      "-1.5s",
      "0.000000001s",
      "-0.000000001s",
      "315576000000.999999999s",
      "99999999999999999999s",
    ])
      same(all, { timeout: value });
  });

  it("wrappers as bare values, odd ones too", () => {
    for (const value of [0, 1, "18446744073709551615", -1, "x", true, null, [], {}])
      same(all, { big: value, flag: value, blob: typeof value === "string" ? "AQ==" : value });
  });

  it("Struct, Value and ListValue with nulls, nesting and empty lists", () => {
    const json = {
      a: null,
      b: [1, "two", [null, []], { c: { d: [] } }],
      e: {},
      f: -0,
      g: true,
      h: Number.NaN,
    };
    same(all, { struct: json, value: json, list: json.b });
    same(struct, json);
    for (const value of [null, 0, "", false, [], {}]) same(all, { value });
  });

  it("Any of a known type, of an unknown one, of well-known types, nested", () => {
    same(all, { any: { "@type": `${URL}t.Inner`, s: "in", child: { i: 2 } } });
    same(all, { any: { "@type": `${URL}t.Empty` } });
    same(all, { any: { "@type": `${URL}google.protobuf.Duration`, value: "3s" } });
    same(all, { any: { "@type": `${URL}google.protobuf.Struct`, value: { a: 1 } } });
    same(all, { any: { "@type": `${URL}google.protobuf.Struct`, a: 1 } });
    same(all, {
      any: { "@type": `${URL}google.protobuf.Any`, value: { "@type": `${URL}t.Inner`, i: 4 } },
    });
    same(all, { anys: [{ "@type": `${URL}t.Inner` }, { "@type": `${URL}t.Inner`, tags: ["x"] }] });
  });
});

describe("bad input", () => {
  const table: Array<[string, protobuf.Type, unknown, string]> = [
    ["a list for a message", all, [], "(root): expected an object for t.All"],
    ["a string for a message field", all, { inner: "x" }, "inner: expected an object for t.Inner"],
    ["an unknown field", all, { nope: 1 }, "nope: unknown field of t.All"],
    [
      "an unknown nested field",
      all,
      { inner: { child: { x: 1 } } },
      "inner.child.x: unknown field of t.Inner",
    ],
    ["an object for a list", all, { ri32: {} }, "ri32: expected a list"],
    ["a list for a map", all, { labels: [] }, "labels: expected a map (object)"],
    [
      "null for a map's message",
      all,
      { by_name: { a: null } },
      'by_name["a"]: expected an object for t.Inner',
    ],
    ["a bad list element", all, { inners: [{}, 3] }, "inners[1]: expected an object for t.Inner"],
    [
      "a duration without unit",
      all,
      { timeout: "10" },
      'timeout: "10" is not a protobuf duration such as "1.5s"',
    ],
    [
      "a number for a duration",
      all,
      { timeout: 1 },
      'timeout: 1 is not a protobuf duration such as "1.5s"',
    ],
    [
      "too many nanos",
      all,
      { timeout: "1.0000000001s" },
      'timeout: "1.0000000001s" is not a protobuf duration such as "1.5s"',
    ],
    ["a string for a Struct", all, { struct: "x" }, "struct: expected an object (Struct)"],
    ["a list for a ListValue", all, { list: {} }, "list: expected a list"],
    ["an Any without @type", all, { any: { s: 1 } }, 'any: an Any needs "@type"'],
    [
      "an Any of an unknown type",
      all,
      { any: { "@type": "x/nope.Nope" } },
      "any: unknown type x/nope.Nope",
    ],
    [
      "a bad field in an Any",
      all,
      { any: { "@type": `${URL}t.Inner`, q: 1 } },
      "any.q: unknown field of t.Inner",
    ],
    [
      "a top-level Struct's bad value",
      struct,
      { a: { b: [undefined] } },
      ".a.b[0]: value cannot be represented in a Struct",
    ],
    [
      "the first error in key order",
      all,
      { struct: 1, inner: { q: 1 }, nope: 1 },
      "struct: expected an object (Struct)",
    ],
    [
      "a nested error before a later key",
      all,
      { inner: { q: 1 }, d: 1, nope: 1 },
      "inner.q: unknown field of t.Inner",
    ],
    [
      "an overridden value is checked",
      all,
      { byName: { a: 1 }, by_name: {} },
      'byName["a"]: expected an object for t.Inner',
    ],
  ];
  for (const [label, type, json, message] of table)
    it(label, () => {
      const { ours } = expectSameAsProtobufjs(type, json, label);
      expect((ours as { error: Error }).error.message).toBe(message);
    });

  it("values protobufjs cannot convert, as CremaErrors naming the field", () => {
    const cases: Array<[unknown, string]> = [
      [{ by: "!!" }, "by: invalid encoding"],
      [{ rby: ["AA==", null] }, "rby[1]: "],
      [{ rby: [5] }, "rby[0]: not a value of this type"],
      [{ ri32: [1], rs64: ["1-2"] }, "rs64[0]: "],
      [{ rfx64: [""] }, "rfx64[0]: "],
      [{ any: { "@type": `${URL}t.Inner`, s: 1 }, by: "!" }, "by: invalid encoding"],
    ];
    for (const [json, prefix] of cases) {
      const { theirs } = expectSameAsProtobufjs(all, json, JSON.stringify(json));
      expect(theirs).toHaveProperty("error");
      if (prefix)
        expect(thrown(() => encodeMessageJson(all, json)).message.startsWith(prefix)).toBe(true);
    }
  });

  it("an unconvertible value inside an Any is thrown before a later key's error, as before", () => {
    const json = { any: { "@type": `${URL}t.All`, by: "!!" }, nope: 1 };
    expect(() => protobufjsEncode(all, json)).toThrow("invalid encoding");
    expect(thrown(() => encodeMessageJson(all, json)).message).toBe("any.by: invalid encoding");
  });

  it("stops at protobufjs's depth of 100 messages, counted afresh in each Any", () => {
    const nested = (levels: number): unknown => (levels ? { child: nested(levels - 1) } : {});
    same(root.lookupType("t.Inner"), nested(100));
    expect(() => protobufjsEncode(root.lookupType("t.Inner"), nested(101))).toThrow(
      "max depth exceeded",
    );
    expect(
      thrown(() => encodeMessageJson(root.lookupType("t.Inner"), nested(101))).message,
    ).toMatch(/^child(\.child){100}: messages nested more than 100 deep$/);
    // An unknown field below the limit is still the error, as the old first pass found it.
    const deep = nested(150) as Record<string, unknown>;
    let at = deep;
    for (let i = 0; i < 149; i++) at = at.child as Record<string, unknown>;
    at.bogus = 1;
    expectSameAsProtobufjs(root.lookupType("t.Inner"), deep);
    const structs = (levels: number): unknown => (levels ? { a: structs(levels - 1) } : 1);
    same(struct, structs(50));
    expectSameAsProtobufjs(struct, structs(51));
    const anys = (levels: number): unknown =>
      levels
        ? { "@type": `${URL}google.protobuf.Any`, value: anys(levels - 1) }
        : { "@type": `${URL}t.Empty` };
    same(any, anys(300));
  });

  it("refuses nesting past 500 messages instead of overflowing the stack", () => {
    const anys = (levels: number): unknown =>
      levels
        ? { "@type": `${URL}google.protobuf.Any`, value: anys(levels - 1) }
        : { "@type": `${URL}t.Empty` };
    expect(thrown(() => encodeMessageJson(any, anys(600))).message).toMatch(
      /nested more than 500 deep/,
    );
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(thrown(() => encodeMessageJson(struct, deep)).message).toMatch(
      /nested more than 500 deep/,
    );
    const cycle: Record<string, unknown> = {};
    cycle.a = cycle;
    expect(thrown(() => encodeMessageJson(struct, cycle)).message).toMatch(
      /nested more than 500 deep/,
    );
  });
});

describe("where the new encoder differs on purpose", () => {
  it("names inherited keys as unknown fields where the old path crashed with a TypeError", () => {
    for (const name of ["constructor", "toString", "__proto__"]) {
      const json = JSON.parse(`{"${name}": 1}`) as unknown;
      expect(() => protobufjsEncode(all, json)).toThrow(TypeError);
      expect(thrown(() => encodeMessageJson(all, json)).message).toBe(
        `${name}: unknown field of t.All`,
      );
      // Given null, both leave them out.
      same(all, JSON.parse(`{"${name}": null}`));
    }
  });

  it("refuses an object with a length for bytes, which the old path wrote as that many zeros", () => {
    expect(protobufjsEncode(all, { by: { length: 3 } })).toEqual(
      bytesOf((w) => key(w, 15, LENGTH).bytes(new Uint8Array(3))),
    );
    expect(thrown(() => encodeMessageJson(all, { by: { length: 3 } })).message).toBe(
      "by: an object with a length is not bytes",
    );
  });

  it("proto2 required fields: written when set, unset ones as protobufjs writes them", () => {
    same(legacy, { id: "x" });
    same(legacy, { id: "x", level: "HIGH", n: 0, by_level: { a: "LOW" }, extra: { a: 1, b: "g" } });
    same(legacy, { id: 5, level: "NOPE" });
    expectSameAsProtobufjs(legacy, {});
  });
});
