import { describe, expect, it } from "vitest";
import { CremaError } from "../base/errors.ts";
import { envoyProtos } from "./envoy-protos.ts";
import { goldenResources, goldenTypedConfigs } from "./golden-resources-testing.ts";
import { encodeMessageJson } from "./proto-encode.ts";
import { expectSameAsProtobufjs, outcomeOf, protobufjsEncode } from "./proto-encode-testing.ts";
import { decodeJson, encodeJson } from "./proto-json.ts";

const resources = goldenResources();
const any = envoyProtos().lookupType("google.protobuf.Any");
const typed = goldenTypedConfigs();

describe("encoding crema's golden translations", () => {
  it("finds them", () => {
    expect(resources.length).toBeGreaterThan(200);
    expect(typed.length).toBeGreaterThan(20);
  });

  it("gives the old path's bytes for every resource", () => {
    for (const { label, type, json } of resources) {
      const ours = Buffer.from(encodeMessageJson(type, json));
      expect(ours.toString("hex"), label).toBe(
        Buffer.from(protobufjsEncode(type, json)).toString("hex"),
      );
    }
  });

  it("and for every typed config of the authn and authz goldens, as an Any", () => {
    for (const config of typed)
      expect(Buffer.from(encodeMessageJson(any, config)), String(config["@type"])).toEqual(
        Buffer.from(protobufjsEncode(any, config)),
      );
  });

  it("is what encodeJson does now", () => {
    for (const { label, type, json } of resources.slice(0, 50))
      expect(Buffer.from(encodeJson(type, json)), label).toEqual(
        Buffer.from(encodeMessageJson(type, json)),
      );
  });

  it("decodes to the JSON the old bytes decode to", () => {
    for (const { label, type, json } of resources)
      expect(decodeJson(type, encodeMessageJson(type, json)), label).toStrictEqual(
        decodeJson(type, protobufjsEncode(type, json)),
      );
  });
});

// ---- seeded mutations ----

function random(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
    return state % n;
  };
}

/** Values a mutation puts somewhere, of every JSON kind and some odd ones. */
const REPLACEMENTS: unknown[] = [
  null,
  0,
  -1,
  1.5,
  4294967296,
  "",
  "x",
  "1",
  "-1",
  "1.5s",
  "10",
  "true",
  "NaN",
  "AAEC",
  "!!",
  true,
  false,
  [],
  [1],
  ["a", null],
  [{}],
  {},
  { a: 1 },
  { "@type": "type.googleapis.com/google.protobuf.Empty" },
  { "@type": "type.googleapis.com/nope.Nothing" },
  { value: 3 },
];

/** A deep copy of `json` with one change at a random place: a replaced, dropped or added key. */
function mutate(json: unknown, pick: (n: number) => number): unknown {
  const copy = structuredClone(json);
  const containers: Array<Record<string, unknown> | unknown[]> = [];
  const collect = (value: unknown) => {
    if (Array.isArray(value)) {
      containers.push(value);
      for (const v of value) collect(v);
    } else if (typeof value === "object" && value !== null) {
      containers.push(value as Record<string, unknown>);
      for (const v of Object.values(value)) collect(v);
    }
  };
  collect(copy);
  const target = containers[pick(containers.length)]!;
  const replacement = structuredClone(REPLACEMENTS[pick(REPLACEMENTS.length)]);
  if (Array.isArray(target)) {
    if (target.length && pick(3) > 0) target[pick(target.length)] = replacement;
    else target.push(replacement);
    return copy;
  }
  const keys = Object.keys(target);
  const action = keys.length ? pick(4) : 3;
  if (action === 0) delete target[keys[pick(keys.length)]!];
  else if (action === 3) {
    const names = ["name", "bogus", "value", "type", "fooBar", "port_value", "@type"];
    target[names[pick(names.length)]!] = replacement;
  } else target[keys[pick(keys.length)]!] = replacement;
  return copy;
}

describe("seeded mutations of the golden resources", () => {
  it("give the old path's bytes, or both throw (its message where it threw a CremaError)", () => {
    const pick = random(31_337);
    let same = 0;
    let crema = 0;
    const sample = [...resources, ...typed.map((json) => ({ label: "typed", type: any, json }))];
    for (let round = 0; round < 3000; round++) {
      const { label, type, json } = sample[pick(sample.length)]!;
      const mutated = mutate(json, pick);
      const { ours, theirs } = expectSameAsProtobufjs(type, mutated, `round ${round} ${label}`);
      if ("bytes" in ours) same++;
      else if ((theirs as { error: unknown }).error instanceof CremaError) crema++;
    }
    // Both outcomes occur often: the mutations are neither always harmless nor always fatal.
    expect(same).toBeGreaterThan(500);
    expect(crema).toBeGreaterThan(500);
  });

  it("with several changes at once", () => {
    const pick = random(4_242);
    for (let round = 0; round < 1000; round++) {
      const { label, type, json } = resources[pick(resources.length)]!;
      let mutated = json;
      for (let n = 2 + pick(4); n > 0; n--) mutated = mutate(mutated, pick);
      expectSameAsProtobufjs(type, mutated, `round ${round} ${label}`);
    }
  });

  it("the comparison notices another outcome", () => {
    const type = resources[0]!.type;
    const json = resources[0]!.json;
    expect(outcomeOf(() => encodeMessageJson(type, json))).not.toEqual(
      outcomeOf(() => encodeMessageJson(type, { ...(json as object), name: "other" })),
    );
  });
});
