import { readFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import table from "./envoy-decode-plans.generated.json" with { type: "json" };
import { envoyDecodePlans } from "./envoy-decode-plans.ts";
import descriptors from "./envoy-descriptors.generated.json" with { type: "json" };
import { loadEnvoyProtoFiles } from "./envoy-protos.ts";
import { decodePlannedJson } from "./proto-decode.ts";
import { type FieldPlan, planOf, type TypePlan } from "./proto-decode-plan.ts";
import { type PlanTable, planTableOf, tablePlans } from "./proto-decode-plan-table.ts";
import { decodeJson } from "./proto-json.ts";
import { decodeResource } from "./resource-codec.ts";
import { messageNameOf } from "./type-urls.ts";

const TABLE = table as unknown as PlanTable;

function messageTypes(namespace: protobuf.NamespaceBase, out: protobuf.Type[] = []) {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type) out.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type)
      messageTypes(nested, out);
  }
  return out;
}

/** What a plan says about decoding, without its links to other plans. */
function comparable(plan: TypePlan) {
  const field = ({ child: _child, ...rest }: FieldPlan) => rest;
  return {
    name: plan.name,
    form: plan.form,
    fields: plan.fields.map(field),
    byNumber: Object.keys(plan.byNumber).map((n) => `${n}:${plan.byNumber[+n]!.name}`),
    required: plan.required.map((f) => f.name),
  };
}

function capturedPush(): Array<{ t: string; v: string }> {
  return JSON.parse(readFileSync(join(import.meta.dirname, "testdata/captured-push.json"), "utf8"));
}

describe("Envoy's decode plans, generated ahead of time", () => {
  it("equal the plans of the .proto files (node scripts/generate-envoy-descriptors.ts refreshes them)", () => {
    expect(planTableOf(loadEnvoyProtoFiles())).toEqual(table);
  });

  it("read back, say for every message type what planning it from its reflection says", () => {
    const root = protobuf.Root.fromJSON(descriptors as protobuf.INamespace);
    root.resolveAll();
    const types = messageTypes(root);
    expect(types.length).toBeGreaterThan(500);
    const fromTable = tablePlans(TABLE, {
      plan: (name) => expect.fail(`${name} is not in the table`),
    });
    for (const type of types) {
      const name = type.fullName;
      expect(comparable(fromTable.plan(name)!), name).toEqual(comparable(planOf(type)));
    }
  });

  it("decode a captured push as the reflective decoder does, never asking the Root", () => {
    const root = protobuf.Root.fromJSON(descriptors as protobuf.INamespace);
    const asked: string[] = [];
    const fromTable = tablePlans(TABLE, {
      plan: (name) => {
        asked.push(name);
        return undefined;
      },
    });
    for (const { t, v } of capturedPush()) {
      const bytes = Buffer.from(v, "base64");
      const expected = decodeJson(root.lookupType(messageNameOf(t)), bytes);
      expect(decodePlannedJson(fromTable.plan(messageNameOf(t))!, bytes), t).toStrictEqual(
        expected,
      );
      expect(decodeResource({ type_url: t, value: bytes }), t).toStrictEqual(expected);
    }
    expect(asked).toEqual([]);
  });

  it("look names the table lacks up in the Root, as protobufjs's lookupType does", () => {
    const asked: string[] = [];
    const fromTable = tablePlans(TABLE, {
      plan: (name) => {
        asked.push(name);
        return undefined;
      },
    });
    expect(fromTable.plan(".envoy.config.cluster.v3.Cluster")?.name).toBe(
      ".envoy.config.cluster.v3.Cluster",
    );
    expect(fromTable.plan("envoy.config.cluster.v3.Cluster")).toBe(
      fromTable.plan(".envoy.config.cluster.v3.Cluster"),
    );
    // A name relative to some namespace, which only protobufjs's lookup may find.
    expect(fromTable.plan("Duration")).toBeUndefined();
    expect(asked).toEqual(["Duration"]);
    expect(envoyDecodePlans().plan("no.such.Type")).toBeUndefined();
    expect(envoyDecodePlans().plan("")).toBeUndefined();
    expect(() =>
      decodeResource({ type_url: "type.googleapis.com/no.such.Type", value: new Uint8Array() }),
    ).toThrow(/no protobuf type is known for type.googleapis.com\/no.such.Type/);
  });
});
