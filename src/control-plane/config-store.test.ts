import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { systemClock } from "../base/clock.ts";
import { silentLogger } from "../base/logger.ts";
import { validateSources } from "../config/validate.ts";
import { type ConfigState, type ConfigStore, createConfigStore } from "./config-store.ts";

const dr = (host: string, name = "reviews") =>
  `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ${name}, namespace: shop}\nspec:\n  host: ${host}\n`;

async function storeFor(
  files: Record<string, string>,
  watch = false,
): Promise<{ store: ConfigStore; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "crema-store-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const store = await createConfigStore({
    paths: [dir],
    logger: silentLogger(),
    clock: systemClock(),
    watch,
  });
  onTestFinished(() => store.close());
  return { store, dir };
}

function nextChange(store: ConfigStore): Promise<[ConfigState, readonly string[]]> {
  return new Promise((resolve) => {
    const off = store.onChange((state, changed) => {
      off();
      resolve([state, changed]);
    });
  });
}

function namesIn(store: ConfigStore): string[] {
  return store
    .current()
    .resources.map((r) => r.name)
    .sort();
}

describe("config store", () => {
  it("loads files and reports what a reload changed", async () => {
    const { store, dir } = await storeFor({ "a.yaml": dr("reviews") });
    expect(store.current().resources.map((r) => r.spec.host)).toEqual(["reviews"]);
    writeFileSync(join(dir, "a.yaml"), dr("ratings"));
    const outcome = await store.reload();
    expect(outcome).toMatchObject({ accepted: true, changed: ["DestinationRule/shop/reviews"] });
    expect(store.current()).toMatchObject({ generation: 2 });
  });

  it("starts from sources its caller has validated, without reading them again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "crema-store-"));
    const file = join(dir, "a.yaml");
    writeFileSync(file, dr("ratings"));
    const files = [{ path: file, text: dr("reviews") }];
    const store = await createConfigStore({
      paths: [file],
      initial: { files, ...validateSources(files) },
      logger: silentLogger(),
      clock: systemClock(),
      watch: false,
    });
    onTestFinished(() => store.close());
    // What the caller read, not what the file says now; a reload reads the file.
    expect(store.current().resources.map((r) => r.spec.host)).toEqual(["reviews"]);
    await store.reload();
    expect(store.current().resources.map((r) => r.spec.host)).toEqual(["ratings"]);
  });

  it("rejects an invalid change with crema validate's diagnostics and keeps the last good config", async () => {
    const { store, dir } = await storeFor({ "a.yaml": dr("reviews") });
    const rejected = new Promise((resolve) => store.onRejected(resolve));
    writeFileSync(
      join(dir, "a.yaml"),
      `${dr("reviews")}  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBBIN}\n`,
    );
    const outcome = await store.reload();
    await rejected;
    expect(outcome.accepted).toBe(false);
    expect(outcome.report).toContain("CREMA_SCHEMA_ENUM");
    expect(outcome.report).toContain("^");
    expect(store.current()).toMatchObject({ generation: 1 });
    expect(store.current().resources[0]!.spec.host).toBe("reviews");
  });

  it("applies and deletes resources at run time, validated the same way", async () => {
    const { store } = await storeFor({ "a.yaml": dr("reviews") });
    expect(store.apply(dr("ratings", "ratings")).changed).toEqual(["DestinationRule/shop/ratings"]);
    expect(store.apply(dr("bad host!", "bad")).accepted).toBe(false);
    expect(namesIn(store)).toEqual(["ratings", "reviews"]);
    expect(store.delete(dr("reviews")).changed).toEqual(["DestinationRule/shop/reviews"]);
    expect(store.current().resources.map((r) => r.name)).toEqual(["ratings"]);
    expect(store.apply(dr("ratings", "ratings")).changed).toEqual([]);
  });

  it("applies resources given as data, validated as text is, and names the bad document", async () => {
    const { store } = await storeFor({ "a.yaml": dr("reviews") });
    const value = (host: string, name: string) => ({
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name, namespace: "shop" },
      spec: { host },
    });
    expect(store.applyValues([value("ratings", "ratings")], "<built>")).toMatchObject({
      accepted: true,
      changed: ["DestinationRule/shop/ratings"],
    });
    expect(store.current().resources.find((r) => r.name === "ratings")!.spec.host).toBe("ratings");
    const rejected = store.applyValues(
      [value("details", "details"), value("bad host!", "bad")],
      "<built>",
    );
    expect(rejected.accepted).toBe(false);
    expect(rejected.diagnostics).toContainEqual(
      expect.objectContaining({
        severity: "error",
        resource: expect.objectContaining({ name: "bad" }),
        position: { file: "<built>", line: 2, column: 1 },
      }),
    );
    expect(rejected.report).toContain("<built>:2");
    // Rejected whole: the valid document in it was not applied either.
    expect(namesIn(store)).toEqual(["ratings", "reviews"]);
  });

  it("watches its paths and reloads when a file changes", async () => {
    const { store, dir } = await storeFor({ "a.yaml": dr("reviews") }, true);
    const change = nextChange(store);
    writeFileSync(join(dir, "b.yaml"), dr("details", "details"));
    const [state, changed] = await change;
    expect(changed).toEqual(["DestinationRule/shop/details"]);
    expect(state.resources).toHaveLength(2);
  });
});
