import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findLayerViolations } from "./layering.ts";

const SRC = new URL("../src", import.meta.url).pathname;

function fakeTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "layering-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("layering", () => {
  it("holds for src/", () => {
    expect(findLayerViolations(SRC)).toEqual([]);
  });

  it("flags an import from a higher layer", () => {
    const root = fakeTree({
      "base/a.ts": 'import { x } from "../config/b.ts";\n',
      "config/b.ts": "export const x = 1;\n",
    });
    expect(findLayerViolations(root)).toEqual([
      { file: "base/a.ts", line: 1, from: "base", to: "config" },
    ]);
  });

  it("flags proxy and control plane importing each other, and same-level siblings", () => {
    const root = fakeTree({
      "proxy/a.ts": 'export { y } from "../control-plane/b.ts";\n',
      "control-plane/b.ts": 'const m = await import("../proxy/a.ts");\nexport const y = 1;\n',
      "xds/c.ts": 'import "../config/d.ts";\n',
      "config/d.ts": 'import { z } from "../base/e.ts";\n',
      "base/e.ts": "export const z = 1;\n",
    });
    expect(
      findLayerViolations(root)
        .map((v) => `${v.from}->${v.to}`)
        .sort(),
    ).toEqual(["control-plane->proxy", "proxy->control-plane", "xds->config"]);
  });
});
