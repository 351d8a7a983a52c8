import { describe, expect, it } from "vitest";
import { parseDocuments } from "./yaml-documents.ts";

const parse = (text: string) => parseDocuments({ path: "in.yaml", text });

describe("parseDocuments", () => {
  it("splits documents and locates fields by path", () => {
    const { documents, diagnostics } = parse("a: 1\n---\nb:\n  c: [x, y]\n  d: {e: 2}\n");
    expect(diagnostics).toEqual([]);
    expect(documents.map((d) => d.value)).toEqual([
      { a: 1 },
      { b: { c: ["x", "y"], d: { e: 2 } } },
    ]);
    const second = documents[1]!;
    expect(second.locate(["b", "c", 1])).toEqual({ file: "in.yaml", line: 4, column: 10 });
    expect(second.locate(["b", "d"], "key")).toEqual({ file: "in.yaml", line: 5, column: 3 });
    expect(second.locate(["b", "d", "e"])).toEqual({ file: "in.yaml", line: 5, column: 10 });
    // a missing field is located at its closest existing parent
    expect(second.locate(["b", "missing", "deeper"])).toEqual({
      file: "in.yaml",
      line: 4,
      column: 3,
    });
  });

  it("skips empty documents between separators", () => {
    expect(parse("---\n---\na: 1\n---\n").documents.map((d) => d.index)).toEqual([1]);
  });

  it("reads JSON", () => {
    const { documents } = parse('{"kind": "Service", "metadata": {"name": "x"}}');
    expect(documents[0]!.value).toEqual({ kind: "Service", metadata: { name: "x" } });
  });

  it("reports duplicate keys with their position", () => {
    const { documents, diagnostics } = parse("a: 1\nb: 2\na: 3\n");
    expect(documents).toEqual([]);
    expect(diagnostics).toMatchObject([
      { code: "CREMA_CONFIG_YAML_DUPLICATE_KEY", position: { line: 3, column: 1 } },
    ]);
  });

  it("reports syntax errors with line and column, once per document", () => {
    const { diagnostics } = parse("a: 1\nb: [unclosed\nc: d\n");
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      code: "CREMA_CONFIG_YAML_SYNTAX",
      position: { file: "in.yaml" },
    });
  });

  it("rejects alias bombs (billion laughs)", () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    const { diagnostics, documents } = parse(`${lines.join("\n")}\n`);
    expect(documents).toEqual([]);
    expect(diagnostics[0]?.code).toBe("CREMA_CONFIG_YAML_ALIAS_LIMIT");
  });

  it("rejects self-referencing anchors", () => {
    const { diagnostics } = parse("a: &x\n  b: *x\n");
    expect(diagnostics[0]?.code).toBe("CREMA_CONFIG_YAML_ALIAS_LIMIT");
  });

  it("rejects absurd nesting without overflowing the stack", () => {
    const { diagnostics } = parse(`x: ${"[".repeat(5000)}${"]".repeat(5000)}\n`);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]?.code).toBe("CREMA_CONFIG_YAML_SYNTAX");
  });
});
