// Test helpers for the upstream suites: the control plane's golden CDS/EDS resources.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const GOLDEN_DIR = join(import.meta.dirname, "../../../testdata/translate");

/** Every (proxy, resource) of `kind` in the translate goldens. */
export function goldenResources(kind: "clusters" | "endpoints"): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const file of readdirSync(GOLDEN_DIR).filter((f) => f.endsWith(".golden.yaml"))) {
    const doc = parse(readFileSync(join(GOLDEN_DIR, file), "utf8")) as Record<
      string,
      Record<string, unknown[] | undefined>
    >;
    for (const [proxy, resources] of Object.entries(doc))
      for (const resource of resources[kind] ?? []) out.push([`${file} ${proxy}`, resource]);
  }
  return out;
}
