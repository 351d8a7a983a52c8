// Test support for the analyzers: analyze inline YAML (through validateSources, like the CLI),
// compact findings to code/severity/resource/path/line, and the coherent small mesh that every
// analyzer must stay quiet on.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Diagnostic } from "../diagnostic.ts";
import { validateSources } from "../validate.ts";
import { type AnalyzeOptions, analyzeResources } from "./index.ts";

export interface Finding {
  code: string;
  severity: string;
  /** `Kind namespace/name` (or `Kind name` for cluster-scoped kinds). */
  resource: string;
  path?: string;
  line?: number;
}

export function analyzeYaml(
  text: string,
  options: AnalyzeOptions = {},
): { diagnostics: Diagnostic[]; validation: Diagnostic[] } {
  const { resources, diagnostics } = validateSources([{ path: "test.yaml", text }]);
  return { diagnostics: analyzeResources(resources, options), validation: diagnostics };
}

/** Analysis findings for a fixture, which must load and pass its kinds' schemas. */
export function findings(text: string, options: AnalyzeOptions = {}): Finding[] {
  const { diagnostics, validation } = analyzeYaml(text, options);
  const broken = validation.filter((d) => /^CREMA_(CONFIG|SCHEMA)_/.test(d.code));
  if (broken.length > 0)
    throw new Error(
      `fixture is not schema-valid:\n${broken.map((d) => `  ${d.code} ${d.path ?? ""} line ${d.position?.line}: ${d.message}`).join("\n")}`,
    );
  return diagnostics.map(toFinding);
}

export function toFinding(d: Diagnostic): Finding {
  const r = d.resource;
  return {
    code: d.code,
    severity: d.severity,
    resource: r ? `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}` : "",
    ...(d.path ? { path: d.path } : {}),
    ...(d.position ? { line: d.position.line } : {}),
  };
}

/**
 * 1-based number of the `nth` line that reads `line` (ignoring indentation); throws when there
 * is none, to catch typos in tests.
 */
export function lineOf(text: string, line: string, nth = 1): number {
  let count = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() === line.trim() && ++count === nth) return i + 1;
  }
  throw new Error(`no line ${JSON.stringify(line)} (occurrence ${nth}) in the fixture`);
}

/** testdata/analyze/healthy-mesh.yaml: a coherent small mesh every analyzer must stay quiet on. */
export const HEALTHY_MESH = readFileSync(
  fileURLToPath(new URL("../../../testdata/analyze/healthy-mesh.yaml", import.meta.url)),
  "utf8",
);

/** 1-based number of the first line reading `line` after the first line reading `anchor`. */
export function lineAfter(text: string, anchor: string, line: string): number {
  const start = lineOf(text, anchor);
  const rest = text.split("\n").slice(start).join("\n");
  return start + lineOf(rest, line);
}
