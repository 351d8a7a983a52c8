import { describe, expect, it } from "vitest";
import type { ApplyResult, ResourceUpdate, TypeHandler } from "../../xds/client/types.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { ResourceRecorder } from "./resource-recorder.ts";

const CDS = TYPE_URL.cluster;

function update(
  added: Record<string, JsonObject>,
  options: Partial<Omit<ResourceUpdate, "added">> = {},
): ResourceUpdate {
  const version = options.version ?? "v1";
  const map = new Map(Object.entries(added));
  return {
    added: map,
    removed: options.removed ?? [],
    full: options.full ?? false,
    version,
    versions: options.versions ?? new Map([...map.keys()].map((name) => [name, version])),
  };
}

/** A handler that accepts everything, or answers with `errors`. */
function handler(errors: string[] = []): TypeHandler & { calls: number } {
  const h = {
    calls: 0,
    apply(): ApplyResult {
      h.calls++;
      return { errors };
    },
  };
  return h;
}

function setup() {
  let now = Date.parse("2024-05-01T10:00:00.000Z");
  const recorder = new ResourceRecorder({ now: () => now });
  return { recorder, advance: (ms: number) => (now += ms) };
}

describe("ResourceRecorder", () => {
  it("records accepted resources with their versions and times, sorted by name", () => {
    const { recorder } = setup();
    const inner = handler();
    const wrapped = recorder.wrap(CDS, inner);
    const result = wrapped.apply(update({ b: { name: "b" }, a: { name: "a" } }, { version: "7" }));
    expect(result).toEqual({ errors: [] });
    expect(inner.calls).toBe(1);
    expect(recorder.resources(CDS)).toEqual([
      { name: "a", resource: { name: "a" }, version: "7", lastUpdated: "2024-05-01T10:00:00.000Z" },
      { name: "b", resource: { name: "b" }, version: "7", lastUpdated: "2024-05-01T10:00:00.000Z" },
    ]);
    expect(recorder.version(CDS)).toBe("7");
    expect(recorder.resources(TYPE_URL.listener)).toEqual([]);
    expect(recorder.version(TYPE_URL.listener)).toBe("");
  });

  it("uses per-resource versions (delta) and honours removals", () => {
    const { recorder } = setup();
    const wrapped = recorder.wrap(CDS, handler());
    wrapped.apply(
      update(
        { a: { name: "a" }, b: { name: "b" } },
        {
          version: "",
          versions: new Map([
            ["a", "ra"],
            ["b", "rb"],
          ]),
        },
      ),
    );
    wrapped.apply(update({}, { version: "", removed: ["a"] }));
    expect(recorder.resources(CDS).map((r) => [r.name, r.version])).toEqual([["b", "rb"]]);
  });

  it("drops what a full update leaves out and keeps unchanged resources' version and time", () => {
    const { recorder, advance } = setup();
    const wrapped = recorder.wrap(CDS, handler());
    wrapped.apply(update({ a: { name: "a" }, b: { name: "b" } }, { full: true, version: "1" }));
    advance(1000);
    wrapped.apply(
      update({ a: { name: "a" }, c: { name: "c", x: 1 } }, { full: true, version: "2" }),
    );
    expect(recorder.resources(CDS)).toEqual([
      { name: "a", resource: { name: "a" }, version: "1", lastUpdated: "2024-05-01T10:00:00.000Z" },
      {
        name: "c",
        resource: { name: "c", x: 1 },
        version: "2",
        lastUpdated: "2024-05-01T10:00:01.000Z",
      },
    ]);
    expect(recorder.version(CDS)).toBe("2");
  });

  it("records nothing from a rejected update but keeps the rejection until the next accept", () => {
    const { recorder } = setup();
    let errors: string[] = [];
    const wrapped = recorder.wrap(CDS, { apply: () => ({ errors }) });
    wrapped.apply(update({ a: { name: "a" } }, { version: "1" }));
    errors = ["b: bad lb_policy"];
    const result = wrapped.apply(update({ b: { name: "b" } }, { version: "2" }));
    expect(result.errors).toEqual(["b: bad lb_policy"]);
    expect(recorder.resources(CDS).map((r) => r.name)).toEqual(["a"]);
    expect(recorder.version(CDS)).toBe("1");
    expect(recorder.lastRejection(CDS)).toEqual({
      version: "2",
      errors: ["b: bad lb_policy"],
      time: "2024-05-01T10:00:00.000Z",
      resources: new Map([["b", { name: "b" }]]),
    });
    errors = [];
    wrapped.apply(update({ b: { name: "b" } }, { version: "3" }));
    expect(recorder.lastRejection(CDS)).toBeUndefined();
  });

  it("records a throwing handler as a rejection and rethrows", () => {
    const { recorder } = setup();
    const wrapped = recorder.wrap(CDS, {
      apply: () => {
        throw new Error("boom");
      },
    });
    expect(() => wrapped.apply(update({ a: { name: "a" } }))).toThrow("boom");
    expect(recorder.lastRejection(CDS)?.errors).toEqual(["boom"]);
    expect(recorder.resources(CDS)).toEqual([]);
  });

  it("keeps types apart", () => {
    const { recorder } = setup();
    recorder.wrap(CDS, handler()).apply(update({ a: { name: "a" } }));
    recorder.wrap(TYPE_URL.listener, handler()).apply(update({ l: { name: "l" } }, { full: true }));
    expect(recorder.resource(CDS, "a")?.resource).toEqual({ name: "a" });
    expect(recorder.resource(TYPE_URL.listener, "a")).toBeUndefined();
    expect(recorder.resources(TYPE_URL.listener).map((r) => r.name)).toEqual(["l"]);
  });
});
