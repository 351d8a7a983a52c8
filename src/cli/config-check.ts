// The shared body of `crema validate` and `crema analyze`: read the input, run the requested
// levels, filter by namespace and thresholds, print, and choose the exit code.
import { analyzeResources } from "../config/analysis/index.ts";
import {
  compareDiagnostics,
  type Diagnostic,
  SEVERITY_RANK,
  type Severity,
} from "../config/diagnostic.ts";
import { type OutputFormat, renderDiagnostics, summarize } from "../config/format-diagnostics.ts";
import { readSources } from "../config/source-file.ts";
import { validateSources } from "../config/validate.ts";
import type { CliIo } from "./io.ts";

/** Exit codes of `crema validate` and `crema analyze` (documented in docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** `validate` found errors (istioctl validate exits 1 too). */
  invalid: 1,
  usage: 2,
  /** Input could not be read: missing path, unreadable file, not text, too large. */
  unreadable: 3,
  /** `analyze` found messages at or above --failure-threshold (istioctl's code). */
  analysisFailed: 79,
} as const;

const UNREADABLE_CODES = new Set([
  "CREMA_CONFIG_READ_FAILED",
  "CREMA_CONFIG_NOT_TEXT",
  "CREMA_CONFIG_TOO_LARGE",
]);

export interface ConfigCheckOptions {
  paths: readonly string[];
  /** Read folders inside the folders named (istioctl's and kubectl's -R). */
  recursive?: boolean;
  analyze: boolean;
  output: OutputFormat;
  /** Namespace of resources that name none (default "default"). */
  defaultNamespace?: string;
  /** Report only findings about resources in this namespace. */
  reportNamespace?: string;
  failureThreshold: Severity;
  outputThreshold: Severity;
  color: boolean;
}

export function parseSeverity(value: string): Severity | undefined {
  const lower = value.toLowerCase();
  return lower === "error" || lower === "warning" || lower === "info" ? lower : undefined;
}

export async function runConfigCheck(options: ConfigCheckOptions, io: CliIo): Promise<number> {
  const read = await readSources(options.paths, io.readStdin, {
    recursive: options.recursive === true,
  });
  const sources = new Map(read.files.map((f) => [f.path, f.text]));
  const validated = validateSources(read.files, {
    defaultNamespace: options.defaultNamespace ?? "default",
  });
  let diagnostics: Diagnostic[] = [...read.diagnostics, ...validated.diagnostics];
  if (options.analyze) {
    diagnostics.push(
      ...analyzeResources(
        validated.resources,
        options.reportNamespace ? { namespaces: [options.reportNamespace] } : {},
      ),
    );
  }
  const only = options.reportNamespace;
  if (only) {
    diagnostics = diagnostics.filter(
      (d) => !d.resource?.namespace || d.resource.namespace === only,
    );
  }
  if (
    read.files.length > 0 &&
    validated.resources.length === 0 &&
    !diagnostics.some((d) => d.severity === "error")
  ) {
    diagnostics.push({
      code: "CREMA_CONFIG_EMPTY",
      severity: "warning",
      message: `no resources found in ${options.paths.join(", ")}`,
    });
  }
  diagnostics.sort(compareDiagnostics);
  const shown = diagnostics.filter(
    (d) => SEVERITY_RANK[d.severity] >= SEVERITY_RANK[options.outputThreshold],
  );
  io.stdout(renderDiagnostics(shown, options.output, sources, options.color));
  if (options.output === "text") {
    const what = `${validated.resources.length} resource${validated.resources.length === 1 ? "" : "s"} in ${read.files.length} file${read.files.length === 1 ? "" : "s"}`;
    const verdict =
      shown.length === 0
        ? `✔ No validation issues found in ${what}.`
        : `${summarize(shown)} in ${what}.`;
    (shown.length === 0 ? io.stdout : io.stderr)(`${verdict}\n`);
  }
  if (diagnostics.some((d) => UNREADABLE_CODES.has(d.code))) return EXIT.unreadable;
  const failing = diagnostics.some(
    (d) => SEVERITY_RANK[d.severity] >= SEVERITY_RANK[options.failureThreshold],
  );
  if (!failing) return EXIT.ok;
  return options.analyze ? EXIT.analysisFailed : EXIT.invalid;
}
