// Level 1 of validation: the kind's schema. Reports unknown fields (which Kubernetes would
// silently drop), wrong types, values outside an enum and missing required fields, each at
// its exact field path.
import { type SchemaNode, schemaFor, schemaNode } from "../api/schema.ts";
import type { ErrorCode } from "../base/errors.ts";
import { closestMatch } from "../base/suggest.ts";
import type { FieldPath } from "./diagnostic.ts";
import type { LocateTarget } from "./yaml-documents.ts";

export interface SchemaFinding {
  code: ErrorCode;
  path: FieldPath;
  target: LocateTarget;
  message: string;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  integer: "an integer",
  boolean: "a boolean (true or false)",
  intstr: "a number or a string",
  array: "a list",
  map: "a mapping of keys to values",
  object: "a mapping (object)",
};

export function checkSchema(apiVersion: string, kind: string, body: unknown): SchemaFinding[] {
  const root = schemaFor(apiVersion, kind);
  if (!root) return [];
  const findings: SchemaFinding[] = [];
  walk(body, root, [], findings, kind);
  return findings;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the string ${JSON.stringify(truncate(value))}`;
  return `${typeof value} ${String(value)}`;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function walk(
  value: unknown,
  node: SchemaNode,
  path: FieldPath,
  out: SchemaFinding[],
  kind: string,
): void {
  if (value === null || value === undefined) return;
  const wrongType = (expected: string): void => {
    out.push({
      code: "CREMA_SCHEMA_TYPE",
      path,
      target: "value",
      message: `expected ${TYPE_NAMES[expected] ?? expected}, got ${describe(value)}`,
    });
  };
  switch (node.t) {
    case "any":
      return;
    case "string":
      if (typeof value !== "string") wrongType("string");
      return;
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) wrongType("number");
      return;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) wrongType("integer");
      return;
    case "boolean":
      if (typeof value !== "boolean") wrongType("boolean");
      return;
    case "intstr":
      if (typeof value !== "number" && typeof value !== "string") wrongType("intstr");
      return;
    case "enum": {
      if (typeof value !== "string") {
        out.push({
          code: "CREMA_SCHEMA_TYPE",
          path,
          target: "value",
          message: `expected one of ${node.v.join(", ")}, got ${describe(value)}`,
        });
        return;
      }
      if (!node.v.includes(value)) {
        const suggestion = closestMatch(value, node.v);
        out.push({
          code: "CREMA_SCHEMA_ENUM",
          path,
          target: "value",
          message: `${JSON.stringify(truncate(value))} is not allowed; use one of ${node.v.join(", ")}${suggestion ? ` (did you mean ${suggestion}?)` : ""}`,
        });
      }
      return;
    }
    case "array": {
      if (!Array.isArray(value)) {
        wrongType("array");
        return;
      }
      const item = schemaNode(node.i);
      value.forEach((element, i) => {
        walk(element, item, [...path, i], out, kind);
      });
      return;
    }
    case "map": {
      if (!isPlainObject(value)) {
        wrongType("map");
        return;
      }
      const item = schemaNode(node.i);
      for (const [key, element] of Object.entries(value))
        walk(element, item, [...path, key], out, kind);
      return;
    }
    case "object": {
      if (!isPlainObject(value)) {
        wrongType("object");
        return;
      }
      for (const [key, element] of Object.entries(value)) {
        const property = node.p[key];
        if (property) {
          walk(element, schemaNode(property[0]), [...path, key], out, kind);
          continue;
        }
        if (path.length === 0 && key === "status") continue;
        const suggestion = closestMatch(key, Object.keys(node.p));
        const where =
          path.length === 0 ? kind : `${kind} ${path.filter((s) => typeof s === "string").at(-1)}`;
        out.push({
          code: "CREMA_SCHEMA_UNKNOWN_FIELD",
          path: [...path, key],
          target: "key",
          message: `unknown field ${JSON.stringify(truncate(key))} in ${where}${
            suggestion
              ? `; did you mean ${JSON.stringify(suggestion)}?`
              : `; known fields: ${listFields(node)}`
          }`,
        });
      }
      for (const [key, [, required]] of Object.entries(node.p)) {
        if (required && (value[key] === undefined || value[key] === null)) {
          out.push({
            code: "CREMA_SCHEMA_REQUIRED",
            path: [...path, key],
            target: "value",
            message: `missing required field ${JSON.stringify(key)}`,
          });
        }
      }
      return;
    }
  }
}

function listFields(node: Extract<SchemaNode, { t: "object" }>): string {
  const names = Object.keys(node.p).sort();
  return names.length > 12 ? `${names.slice(0, 12).join(", ")}, …` : names.join(", ");
}
