// From source files to resources: split documents, identify each one's kind and version,
// check its metadata, and apply the default namespace. Every problem is a diagnostic.
import { apiVersionOf, findKind, KINDS, kindsNamed, splitApiVersion } from "../api/kinds.ts";
import { closestMatch } from "../base/suggest.ts";
import type { Diagnostic, FieldPath } from "./diagnostic.ts";
import {
  isDns1123Label,
  isDns1123Subdomain,
  labelKeyProblem,
  labelValueProblem,
} from "./metadata-rules.ts";
import { type Resource, resourceKey } from "./resource.ts";
import type { SourceFile } from "./source-file.ts";
import { type ParsedDocument, parseDocuments } from "./yaml-documents.ts";

export interface LoadOptions {
  /** Namespace for resources that name none (like `kubectl apply -n`). Default "default". */
  defaultNamespace?: string;
}

export interface LoadResult {
  resources: Resource[];
  diagnostics: Diagnostic[];
}

export function loadResources(files: readonly SourceFile[], options: LoadOptions = {}): LoadResult {
  const result: LoadResult = { resources: [], diagnostics: [] };
  const seen = new Map<string, Resource>();
  for (const file of files) {
    const parsed = parseDocuments(file);
    result.diagnostics.push(...parsed.diagnostics);
    for (const document of parsed.documents) addDocument(document, options, result, seen);
  }
  return result;
}

/**
 * Resources given as data rather than text (JSON values, as JSON.parse returns them): what a
 * program builds itself, such as the local runtime's Pods. There is no text to point into, so
 * every position is the document's own (`file`, line = document number).
 */
export function loadValues(
  values: readonly unknown[],
  file: string,
  options: LoadOptions = {},
): LoadResult {
  const result: LoadResult = { resources: [], diagnostics: [] };
  const seen = new Map<string, Resource>();
  values.forEach((value, index) => {
    const position = { file, line: index + 1, column: 1 };
    addDocument({ file, index, value, locate: () => position }, options, result, seen);
  });
  return result;
}

function addDocument(
  document: ParsedDocument,
  options: LoadOptions,
  result: LoadResult,
  seen: Map<string, Resource>,
): void {
  for (const candidate of expandLists(document)) {
    const resource = decodeResource(candidate, options, result.diagnostics);
    if (!resource) continue;
    const key = resourceKey(resource);
    const earlier = seen.get(key);
    if (earlier) {
      result.diagnostics.push({
        code: "CREMA_CONFIG_DUPLICATE_RESOURCE",
        severity: "warning",
        message: `${resource.kind} ${resource.namespace ? `${resource.namespace}/` : ""}${resource.name} is defined again (first at ${earlier.source?.file}:${earlier.source?.locate([]).line}); the later definition replaces the earlier one`,
        resource: { kind: resource.kind, namespace: resource.namespace, name: resource.name },
        position: resource.source?.locate(["metadata", "name"]),
      });
      result.resources[result.resources.indexOf(earlier)] = resource;
    } else {
      result.resources.push(resource);
    }
    seen.set(key, resource);
  }
}

/** A `kind: List` (as `kubectl get -o yaml` writes) stands for its items. */
function expandLists(document: ParsedDocument): ParsedDocument[] {
  const value = document.value as { kind?: unknown; items?: unknown } | null;
  if (!isObject(value) || value.kind !== "List" || !Array.isArray(value.items)) return [document];
  return value.items.map((item, i) => ({
    ...document,
    value: item,
    locate: (path: FieldPath, target) => document.locate(["items", i, ...path], target),
  }));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function decodeResource(
  document: ParsedDocument,
  options: LoadOptions,
  out: Diagnostic[],
): Resource | undefined {
  const body = document.value;
  const at = (path: FieldPath, target: "key" | "value" = "value") => document.locate(path, target);
  if (!isObject(body)) {
    out.push({
      code: "CREMA_CONFIG_NOT_OBJECT",
      severity: "error",
      message: `document ${document.index + 1} is ${Array.isArray(body) ? "a list" : typeof body === "string" ? "a plain string" : `a ${body === null ? "null" : typeof body}`}, not a resource; each document must be a mapping with apiVersion, kind, metadata and spec`,
      position: at([]),
    });
    return undefined;
  }
  const { apiVersion, kind } = body;
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !apiVersion || !kind) {
    const missing = [
      typeof apiVersion !== "string" || !apiVersion ? "apiVersion" : "",
      typeof kind !== "string" || !kind ? "kind" : "",
    ]
      .filter(Boolean)
      .join(" and ");
    out.push({
      code: "CREMA_CONFIG_MISSING_KIND",
      severity: "error",
      message: `document ${document.index + 1} has no ${missing} (as a string); add e.g. apiVersion: networking.istio.io/v1 and kind: VirtualService`,
      position: at([]),
    });
    return undefined;
  }
  const { group, version } = splitApiVersion(apiVersion);
  const info = findKind(group, kind);
  if (!info) {
    out.push(unknownKind(group, kind, apiVersion, at(["kind"])));
    return undefined;
  }
  if (!info.versions.includes(version)) {
    out.push({
      code: "CREMA_CONFIG_UNSUPPORTED_VERSION",
      severity: "error",
      message: `${kind} is not served at ${apiVersion}; use ${info.versions.map((v) => apiVersionOf(group, v)).join(" or ")}`,
      position: at(["apiVersion"]),
    });
    return undefined;
  }
  const ref = (name: string, namespace: string) => ({
    kind,
    name,
    ...(namespace ? { namespace } : {}),
  });
  const metadata = body.metadata;
  const metadataError = (
    path: FieldPath,
    message: string,
    target: "key" | "value" = "value",
    name = "",
    namespace = "",
  ) =>
    out.push({
      code: "CREMA_CONFIG_INVALID_METADATA",
      severity: "error",
      message,
      resource: ref(name || "<unnamed>", namespace),
      path: path
        .map((s) => (typeof s === "number" ? `[${s}]` : s))
        .join(".")
        .replaceAll(".[", "["),
      position: at(path, target),
    });
  if (!isObject(metadata) || typeof metadata.name !== "string" || metadata.name === "") {
    metadataError(
      isObject(metadata) ? ["metadata"] : [],
      `${kind} has no metadata.name; every resource needs a name`,
    );
    return undefined;
  }
  const name = metadata.name;
  if (!isDns1123Subdomain(name)) {
    metadataError(
      ["metadata", "name"],
      `name ${JSON.stringify(name)} is not a valid resource name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (at most 253 characters)`,
      "value",
      name,
    );
    return undefined;
  }
  let namespace = "";
  if (!info.clusterScoped) {
    const written = metadata.namespace;
    if (
      written !== undefined &&
      written !== null &&
      (typeof written !== "string" || !isDns1123Label(written))
    ) {
      metadataError(
        ["metadata", "namespace"],
        `namespace ${JSON.stringify(written)} is not a valid namespace: use a lowercase DNS label (letters, digits, '-'; at most 63 characters)`,
        "value",
        name,
      );
      return undefined;
    }
    namespace =
      typeof written === "string" && written ? written : (options.defaultNamespace ?? "default");
  }
  const labels = stringMap(
    metadata.labels,
    ["metadata", "labels"],
    (path, message) => metadataError(path, message, "key", name, namespace),
    true,
  );
  const annotations = stringMap(
    metadata.annotations,
    ["metadata", "annotations"],
    (path, message) => metadataError(path, message, "key", name, namespace),
    false,
  );
  return {
    apiVersion,
    group,
    version,
    kind,
    name,
    namespace,
    labels,
    annotations,
    spec: isObject(body.spec) ? body.spec : {},
    body,
    source: { file: document.file, document: document.index, locate: document.locate },
  };
}

function stringMap(
  value: unknown,
  path: FieldPath,
  report: (path: FieldPath, message: string) => void,
  asLabels: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined || value === null) return out;
  if (!isObject(value)) {
    report(path, `${path.join(".")} must be a mapping of strings to strings`);
    return out;
  }
  for (const [key, raw] of Object.entries(value)) {
    if (typeof raw !== "string") {
      report(
        [...path, key],
        `${path.at(-1)} value for ${JSON.stringify(key)} must be a string; quote it (e.g. "${String(raw)}")`,
      );
      continue;
    }
    const problem = asLabels
      ? (labelKeyProblem(key) ?? labelValueProblem(raw))
      : labelKeyProblem(key);
    if (problem) report([...path, key], problem);
    else out[key] = raw;
  }
  return out;
}

function unknownKind(
  group: string,
  kind: string,
  apiVersion: string,
  position: Diagnostic["position"],
): Diagnostic {
  const sameName = kindsNamed(kind);
  let hint: string;
  if (sameName.length > 0) {
    const k = sameName[0]!;
    hint = `did you mean apiVersion ${apiVersionOf(k.group, k.versions[0]!)} with kind ${k.kind}?`;
  } else {
    const close = closestMatch(kind, new Set(KINDS.map((k) => k.kind)));
    hint = close
      ? `did you mean kind ${close}?`
      : "crema reads Istio's networking, security, telemetry and extensions kinds and the Kubernetes kinds a mesh needs";
  }
  return {
    code: "CREMA_CONFIG_UNKNOWN_KIND",
    severity: "error",
    message: `unknown kind ${kind} in ${apiVersion || "(no group)"}${group ? "" : ""}; ${hint}`,
    position,
  };
}
