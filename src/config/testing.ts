// Test support for the config library: validate or analyze YAML given inline, and run tables
// of invalid cases that assert code, field path and source position.
import { expect, it } from "vitest";
import type { ErrorCode } from "../base/errors.ts";
import type { Diagnostic } from "./diagnostic.ts";
import { type ValidationResult, validateSources } from "./validate.ts";

export const TEST_FILE = "test.yaml";

export function validateYaml(yaml: string, defaultNamespace = "default"): ValidationResult {
  return validateSources([{ path: TEST_FILE, text: yaml }], { defaultNamespace });
}

export function errorsOf(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.filter((d) => d.severity === "error");
}

export interface InvalidCase {
  name: string;
  yaml: string;
  code: ErrorCode;
  /** Field path, e.g. `spec.http[0].route[1].weight`. */
  path: string;
  /** 1-based line and column the diagnostic must point at. */
  line: number;
  column: number;
  severity?: "error" | "warning";
}

/** Registers one vitest case per table row. */
export function invalidCases(cases: readonly InvalidCase[]): void {
  for (const c of cases) {
    it(`${c.name} → ${c.code} at ${c.path} (${c.line}:${c.column})`, () => {
      const { diagnostics } = validateYaml(c.yaml);
      const match = diagnostics.find((d) => d.code === c.code && d.path === c.path);
      expect(
        match,
        `no ${c.code} at ${c.path}; got:\n${diagnostics.map((d) => `  ${d.code} ${d.path} ${d.position?.line}:${d.position?.column} ${d.message}`).join("\n")}`,
      ).toBeDefined();
      expect({ line: match!.position?.line, column: match!.position?.column }).toEqual({
        line: c.line,
        column: c.column,
      });
      expect(match!.severity).toBe(c.severity ?? "error");
      expect(match!.message.length).toBeGreaterThan(10);
    });
  }
}

/** Asserts the YAML validates without errors or warnings. */
export function expectClean(yaml: string): void {
  const { diagnostics } = validateYaml(yaml);
  expect(diagnostics.map((d) => `${d.code} ${d.path ?? ""}: ${d.message}`)).toEqual([]);
}
