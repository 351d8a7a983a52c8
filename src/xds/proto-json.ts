// Proto3 JSON mapping over protobufjs reflection: Envoy resources are written as JSON objects
// the way Envoy's docs and config dumps show them (snake_case fields, durations as "1.5s",
// wrapper types as bare values, Struct as plain JSON, Any as {"@type": …, …fields}) and
// converted here to and from protobuf binary. protobufjs alone does not implement those
// well-known-type mappings (well-known-json.ts has the outbound half). Encoding and decoding go
// through the reflective encoder and decoder (proto-encode.ts, proto-decode.ts); the protobufjs
// object form remains for messages built or decoded by protobufjs itself (jsonToProtobufObject,
// messageToJson). (protobufjs serves google.protobuf.* from its
// own bundled definitions, whose Value fields are camelCase whatever keepCase says; hence
// nullValue etc.)
import protobuf from "protobufjs";
import { CremaError } from "../base/errors.ts";
import { decodeMessageJson } from "./proto-decode.ts";
import { encodeMessageJson } from "./proto-encode.ts";
import {
  anyJson,
  fullNameOf,
  isObject,
  lookupByUrl,
  WRAPPERS,
  wellKnownJson,
} from "./well-known-json.ts";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

function fail(path: string, message: string): never {
  throw new CremaError("CREMA_XDS_INVALID_RESOURCE", `${path || "(root)"}: ${message}`);
}

/** Encodes a proto3-JSON object as `type` (throws CREMA_XDS_INVALID_RESOURCE naming the field). */
export function encodeJson(type: protobuf.Type, json: unknown): Uint8Array {
  return encodeMessageJson(type, json);
}

/** Decodes binary `type` into its proto3-JSON object. */
export function decodeJson(type: protobuf.Type, bytes: Uint8Array): JsonObject {
  return decodeMessageJson(type, bytes) as JsonObject;
}

/** The protobufjs object form of a proto3-JSON value, ready for `type.fromObject`. */
export function jsonToProtobufObject(type: protobuf.Type, json: unknown): Record<string, unknown> {
  return toProtobufObject(type, json, "") as Record<string, unknown>;
}

/** The proto3-JSON of a message protobufjs has decoded (`type.decode`). */
export function messageToJson(type: protobuf.Type, message: protobuf.Message): Json {
  const object = type.toObject(message, {
    enums: String,
    longs: String,
    bytes: String,
    oneofs: false,
  });
  return fromProtobufObject(type, object, "");
}

// ---- JSON → protobufjs object form ----

function toProtobufObject(type: protobuf.Type, value: unknown, path: string): unknown {
  const name = fullNameOf(type);
  if (name === ".google.protobuf.Duration") return durationIn(value, path);
  if (WRAPPERS.has(name)) return { value };
  if (name === ".google.protobuf.Struct") return structIn(value, path);
  if (name === ".google.protobuf.Value") return valueIn(value, path);
  if (name === ".google.protobuf.ListValue")
    return { values: asArray(value, path).map((v, i) => valueIn(v, `${path}[${i}]`)) };
  if (name === ".google.protobuf.Any") return anyIn(type, value, path);
  if (!isObject(value)) fail(path, `expected an object for ${name.slice(1)}`);
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value)) {
    const field = type.fields[key] ?? type.fields[snakeCase(key)];
    const fieldPath = path ? `${path}.${key}` : key;
    if (!field) fail(fieldPath, `unknown field of ${name.slice(1)}`);
    if (raw === null || raw === undefined) continue;
    out[field.name] = fieldIn(field, raw, fieldPath);
  }
  return out;
}

function fieldIn(field: protobuf.Field, raw: unknown, path: string): unknown {
  field.resolve();
  const element = (value: unknown, at: string) =>
    field.resolvedType instanceof protobuf.Type
      ? toProtobufObject(field.resolvedType, value, at)
      : value;
  if (field instanceof protobuf.MapField) {
    if (!isObject(raw)) fail(path, "expected a map (object)");
    return Object.fromEntries(
      Object.entries(raw).map(([k, v]) => [k, element(v, `${path}[${JSON.stringify(k)}]`)]),
    );
  }
  if (field.repeated) return asArray(raw, path).map((v, i) => element(v, `${path}[${i}]`));
  return element(raw, path);
}

function asArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, "expected a list");
  return value;
}

function durationIn(value: unknown, path: string): { seconds: string; nanos: number } {
  const match = typeof value === "string" ? DURATION.exec(value) : null;
  if (!match) fail(path, `${JSON.stringify(value)} is not a protobuf duration such as "1.5s"`);
  const sign = match[1] ? -1 : 1;
  const nanos = Number((match[3] ?? "").padEnd(9, "0"));
  return { seconds: `${match[1] ?? ""}${match[2]}`, nanos: sign * nanos };
}

function structIn(value: unknown, path: string): unknown {
  if (!isObject(value)) fail(path, "expected an object (Struct)");
  return {
    fields: Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, valueIn(v, `${path}.${k}`)]),
    ),
  };
}

function valueIn(value: unknown, path: string): unknown {
  if (value === null) return { nullValue: "NULL_VALUE" };
  if (typeof value === "number") return { numberValue: value };
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (Array.isArray(value))
    return { listValue: { values: value.map((v, i) => valueIn(v, `${path}[${i}]`)) } };
  if (isObject(value)) return { structValue: structIn(value, path) };
  fail(path, "value cannot be represented in a Struct");
}

function anyIn(anyType: protobuf.Type, value: unknown, path: string): unknown {
  if (!isObject(value) || typeof value["@type"] !== "string") fail(path, 'an Any needs "@type"');
  const url = value["@type"];
  const inner = lookupByUrl(anyType, url);
  if (!inner) fail(path, `unknown type ${url}`);
  const { "@type": _ignored, ...fields } = value;
  const wellKnownValue =
    fullNameOf(inner).startsWith(".google.protobuf.") &&
    "value" in fields &&
    Object.keys(fields).length === 1;
  const innerObject = toProtobufObject(inner, wellKnownValue ? fields.value : fields, path);
  return {
    type_url: url,
    value: inner.encode(inner.fromObject(innerObject as Record<string, unknown>)).finish(),
  };
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

// ---- protobufjs object form → JSON ----

function fromProtobufObject(type: protobuf.Type, object: unknown, path: string): Json {
  const name = fullNameOf(type);
  const obj = (object ?? {}) as Record<string, unknown>;
  const wellKnown = wellKnownJson(name, obj);
  if (wellKnown !== undefined) return wellKnown;
  if (name === ".google.protobuf.Any") return anyOut(type, obj, path);
  const out: JsonObject = {};
  for (const [key, raw] of Object.entries(obj)) {
    const field = type.fields[key];
    if (!field || raw === undefined) continue;
    field.resolve();
    const element = (value: unknown) =>
      field.resolvedType instanceof protobuf.Type
        ? fromProtobufObject(field.resolvedType, value, `${path}.${key}`)
        : (value as Json);
    if (field instanceof protobuf.MapField) {
      out[key] = Object.fromEntries(
        Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, element(v)]),
      );
    } else if (field.repeated) {
      out[key] = (raw as unknown[]).map(element);
    } else {
      out[key] = element(raw);
    }
  }
  return out;
}

function anyOut(anyType: protobuf.Type, obj: Record<string, unknown>, path: string): Json {
  const bytes = typeof obj.value === "string" ? Buffer.from(obj.value, "base64") : new Uint8Array();
  const url = String(obj.type_url ?? "");
  const inner = lookupByUrl(anyType, url);
  return anyJson(url, inner && fullNameOf(inner), bytes, () =>
    fromProtobufObject(
      inner!,
      inner!.toObject(inner!.decode(bytes), { enums: String, longs: String, bytes: String }),
      path,
    ),
  );
}
