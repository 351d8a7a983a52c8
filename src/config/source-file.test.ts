import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeSource, readSources } from "./source-file.ts";

describe("readSources", () => {
  it("reads directories recursively, only config extensions, in sorted order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "crema-src-"));
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "b.yaml"), "b: 1\n");
    writeFileSync(join(dir, "a.yml"), "a: 1\n");
    writeFileSync(join(dir, "sub", "c.json"), "{}");
    writeFileSync(join(dir, "notes.txt"), "ignored");
    writeFileSync(join(dir, ".hidden.yaml"), "ignored");
    const result = await readSources([dir], async () => "");
    expect(result.files.map((f) => f.path.slice(dir.length + 1))).toEqual([
      "a.yml",
      "b.yaml",
      "sub/c.json",
    ]);
    expect(result.diagnostics).toEqual([]);
  });

  it("reads stdin for '-'", async () => {
    const result = await readSources(["-"], async () => "kind: x\n");
    expect(result.files).toEqual([{ path: "<stdin>", text: "kind: x\n" }]);
  });

  it("reports missing paths instead of throwing", async () => {
    const result = await readSources(["/nonexistent/crema.yaml"], async () => "");
    expect(result.diagnostics).toMatchObject([
      { code: "CREMA_CONFIG_READ_FAILED", message: expect.stringContaining("ENOENT") },
    ]);
  });

  it("rejects binary and non-UTF-8 input", () => {
    expect(decodeSource("x.bin", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]))).toMatchObject({
      code: "CREMA_CONFIG_NOT_TEXT",
    });
    expect(decodeSource("x.yaml", new Uint8Array([0xff, 0xfe, 0x41]))).toMatchObject({
      code: "CREMA_CONFIG_NOT_TEXT",
    });
    expect(decodeSource("ok.yaml", new TextEncoder().encode("\ufeffa: 1"))).toEqual({
      path: "ok.yaml",
      text: "a: 1",
    });
  });
});
