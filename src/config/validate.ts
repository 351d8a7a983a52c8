// Levels 1 and 2 of validation over loaded resources: each kind's schema, then Istio's
// semantic rules. Semantic rules run only on resources whose types are right (an unknown
// field or an enum typo does not stop them), so a type error never cascades into noise.
import { describeError } from "../base/errors.ts";
import { type Diagnostic, type FieldPath, formatFieldPath } from "./diagnostic.ts";
import { type LoadOptions, type LoadResult, loadResources, loadValues } from "./load.ts";
import { type Resource, resourceRef } from "./resource.ts";
import { checkSchema } from "./schema-check.ts";
import type { SourceFile } from "./source-file.ts";
import type { KindValidator, ValidationContext } from "./validation/context.ts";
import { defaultKindValidators } from "./validation/registry.ts";

export interface ValidateOptions extends LoadOptions {
  validators?: ReadonlyMap<string, KindValidator>;
}

export interface ValidationResult {
  resources: Resource[];
  diagnostics: Diagnostic[];
}

/** Loads and validates source files (levels 1–2). */
export function validateSources(
  files: readonly SourceFile[],
  options: ValidateOptions = {},
): ValidationResult {
  return validateLoaded(loadResources(files, options), options);
}

/** Loads and validates resources given as JSON values (load.ts's loadValues), levels 1–2. */
export function validateValues(
  values: readonly unknown[],
  file: string,
  options: ValidateOptions = {},
): ValidationResult {
  return validateLoaded(loadValues(values, file, options), options);
}

function validateLoaded(loaded: LoadResult, options: ValidateOptions): ValidationResult {
  const validators = options.validators ?? defaultKindValidators();
  const diagnostics = [...loaded.diagnostics];
  for (const resource of loaded.resources)
    diagnostics.push(...validateResource(resource, validators));
  return { resources: loaded.resources, diagnostics };
}

export function diagnosticAt(
  resource: Resource,
  path: FieldPath,
  target: "key" | "value",
  fields: Pick<Diagnostic, "code" | "severity" | "message">,
): Diagnostic {
  const position = resource.source?.locate(path, target);
  return {
    ...fields,
    resource: resourceRef(resource),
    ...(path.length > 0 ? { path: formatFieldPath(path) } : {}),
    ...(position ? { position } : {}),
  };
}

const BLOCKING_SCHEMA_CODES = new Set([
  "CREMA_SCHEMA_TYPE",
  "CREMA_SCHEMA_REQUIRED",
  "CREMA_SCHEMA_INVALID",
]);

export function validateResource(
  resource: Resource,
  validators: ReadonlyMap<string, KindValidator>,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const findings = checkSchema(resource.apiVersion, resource.kind, resource.body);
  for (const finding of findings) {
    out.push(
      diagnosticAt(resource, finding.path, finding.target, {
        code: finding.code,
        severity: "error",
        message: finding.message,
      }),
    );
  }
  const validator = validators.get(resource.kind);
  if (!validator || findings.some((f) => BLOCKING_SCHEMA_CODES.has(f.code))) return out;
  const ctx: ValidationContext = {
    resource,
    error: (path, code, message) =>
      out.push(diagnosticAt(resource, path, "value", { code, severity: "error", message })),
    warn: (path, code, message) =>
      out.push(diagnosticAt(resource, path, "value", { code, severity: "warning", message })),
  };
  try {
    validator(resource.spec, ctx);
  } catch (error) {
    // A validator bug must not take the whole run down; report it as what it is.
    out.push(
      diagnosticAt(resource, ["spec"], "value", {
        code: "CREMA_BASE_INTERNAL",
        severity: "error",
        message: `internal error while validating: ${describeError(error)}`,
      }),
    );
  }
  return out;
}
