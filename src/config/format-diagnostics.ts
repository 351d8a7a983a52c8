// Renders diagnostics for people (compiler-style, with the offending line and a caret) and
// for machines (JSON or YAML).
import { stringify } from "yaml";
import { type Diagnostic, formatResourceRef } from "./diagnostic.ts";

export type OutputFormat = "text" | "json" | "yaml";

export const OUTPUT_FORMATS: readonly OutputFormat[] = ["text", "json", "yaml"];

export function renderDiagnostics(
  diagnostics: readonly Diagnostic[],
  format: OutputFormat,
  sources: ReadonlyMap<string, string>,
  color = false,
): string {
  if (format === "json") return `${JSON.stringify(diagnostics, null, 2)}\n`;
  if (format === "yaml") return diagnostics.length ? stringify(diagnostics) : "[]\n";
  return diagnostics.map((d) => renderText(d, sources, color)).join("");
}

const SEVERITY_COLOR = { error: "\x1b[31m", warning: "\x1b[33m", info: "\x1b[36m" } as const;

function renderText(d: Diagnostic, sources: ReadonlyMap<string, string>, color: boolean): string {
  const severity = color ? `${SEVERITY_COLOR[d.severity]}${d.severity}\x1b[0m` : d.severity;
  const lines = [`${severity} [${d.code}] ${d.message}`];
  const where: string[] = [];
  if (d.position) where.push(`${d.position.file}:${d.position.line}:${d.position.column}`);
  const context = [d.resource ? formatResourceRef(d.resource) : "", d.path ?? ""]
    .filter(Boolean)
    .join(" ");
  if (context) where.push(where.length ? `(${context})` : context);
  if (where.length) lines.push(`  --> ${where.join(" ")}`);
  const excerpt = d.position && sourceLine(sources.get(d.position.file), d.position.line);
  if (d.position && excerpt !== undefined) {
    const gutter = String(d.position.line);
    const pad = " ".repeat(gutter.length);
    const caretOffset = displayWidth(excerpt.slice(0, Math.max(0, d.position.column - 1)));
    lines.push(
      `   ${pad} |`,
      `   ${gutter} | ${excerpt}`,
      `   ${pad} | ${" ".repeat(caretOffset)}^`,
    );
  }
  return `${lines.join("\n")}\n\n`;
}

function sourceLine(text: string | undefined, line: number): string | undefined {
  if (text === undefined) return undefined;
  let start = 0;
  for (let current = 1; current < line; current++) {
    const next = text.indexOf("\n", start);
    if (next < 0) return undefined;
    start = next + 1;
  }
  const end = text.indexOf("\n", start);
  const raw = text.slice(start, end < 0 ? undefined : end).replace(/\r$/, "");
  // Keep the excerpt readable for minified or binary-looking input.
  return raw.length > 200 ? `${raw.slice(0, 200)}…` : raw.replaceAll("\t", " ");
}

function displayWidth(text: string): number {
  return [...text].length;
}

export function summarize(diagnostics: readonly Diagnostic[]): string {
  const count = (severity: Diagnostic["severity"]) =>
    diagnostics.filter((d) => d.severity === severity).length;
  const errors = count("error");
  const warnings = count("warning");
  const infos = count("info");
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return `${plural(errors, "error")}, ${plural(warnings, "warning")}, ${plural(infos, "info")}`;
}
