// The proto3-JSON forms of google.protobuf's well-known types on the way out of protobuf
// (Duration as "1.5s", wrappers as bare values, Struct/Value/ListValue as plain JSON, Any as
// {"@type": …, …fields}), from protobufjs's object form of those messages (what
// `type.toObject(…, { enums: String, longs: String, bytes: String })` returns). Shared by the
// protobufjs-object path (proto-json.ts) and the reflective decoder (proto-decode.ts), so both
// produce the same JSON. (protobufjs serves google.protobuf.* from its own bundled definitions,
// whose Value fields are camelCase whatever keepCase says; hence nullValue etc.)
import protobuf from "protobufjs";
import type { Json, JsonObject } from "./proto-json.ts";
import { messageNameOf } from "./type-urls.ts";

export const WRAPPERS = new Set([
  ".google.protobuf.DoubleValue",
  ".google.protobuf.FloatValue",
  ".google.protobuf.Int64Value",
  ".google.protobuf.UInt64Value",
  ".google.protobuf.Int32Value",
  ".google.protobuf.UInt32Value",
  ".google.protobuf.BoolValue",
  ".google.protobuf.StringValue",
  ".google.protobuf.BytesValue",
]);

// protobufjs computes `fullName` by walking the parent chain on every access; it is read for
// every message converted, so it is cached per type.
const fullNames = new WeakMap<protobuf.ReflectionObject, string>();

export function fullNameOf(type: protobuf.ReflectionObject): string {
  let name = fullNames.get(type);
  if (name === undefined) {
    name = type.fullName;
    fullNames.set(type, name);
  }
  return name;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The message type an Any's type URL names (the part after the last "/"), if it is loaded. */
export function lookupByUrl(
  from: protobuf.ReflectionObject,
  url: string,
): protobuf.Type | undefined {
  return lookupMessageType(from.root, messageNameOf(url));
}

/** The message type `name` resolves to in `root` as protobufjs's lookupType finds it, if any. */
export function lookupMessageType(root: protobuf.Root, name: string): protobuf.Type | undefined {
  try {
    // lookupType("") answers the Root itself, which is no message type.
    const type = root.lookupType(name);
    return type instanceof protobuf.Type ? type : undefined;
  } catch {
    return undefined;
  }
}

const MAPPED = new Set([
  ".google.protobuf.Duration",
  ".google.protobuf.Struct",
  ".google.protobuf.Value",
  ".google.protobuf.ListValue",
  ...WRAPPERS,
]);

/** Whether `wellKnownJson` maps the type of that full name. */
export function hasWellKnownJson(name: string): boolean {
  return MAPPED.has(name);
}

/**
 * The JSON of a Duration, wrapper, Struct, Value or ListValue given in protobufjs's object form;
 * undefined for any other type (Any is `anyJson`'s).
 */
export function wellKnownJson(name: string, obj: Record<string, unknown>): Json | undefined {
  if (name === ".google.protobuf.Duration") return durationOut(obj);
  if (WRAPPERS.has(name)) return (obj.value ?? defaultWrapper(name)) as Json;
  if (name === ".google.protobuf.Struct") return structOut(obj);
  if (name === ".google.protobuf.Value") return valueOut(obj);
  if (name === ".google.protobuf.ListValue")
    return ((obj.values as unknown[]) ?? []).map((v) => valueOut(v as Record<string, unknown>));
  return undefined;
}

/**
 * The JSON of an Any given its type URL, the full name of the type it names if that is known,
 * and `decode`, which turns its value's bytes into that type's JSON: that JSON with "@type"
 * first, or {"@type", value} when the type is unknown (value base64) or a well-known type whose
 * JSON is not an object of fields.
 */
export function anyJson(
  url: string,
  innerName: string | undefined,
  bytes: Uint8Array,
  decode: () => Json,
): Json {
  if (innerName === undefined)
    return { "@type": url, value: Buffer.from(bytes).toString("base64") };
  const decoded = decode();
  return isObject(decoded) && !innerName.startsWith(".google.protobuf.")
    ? { "@type": url, ...(decoded as JsonObject) }
    : { "@type": url, value: decoded };
}

function defaultWrapper(name: string): Json {
  if (name.endsWith("BoolValue")) return false;
  if (name.endsWith("StringValue") || name.endsWith("BytesValue")) return "";
  return 0;
}

function durationOut(obj: Record<string, unknown>): string {
  const seconds = BigInt(String(obj.seconds ?? 0));
  const nanos = Number(obj.nanos ?? 0);
  const negative = seconds < 0n || nanos < 0;
  const abs = (negative ? -seconds : seconds).toString();
  const fraction =
    nanos === 0 ? "" : `.${String(Math.abs(nanos)).padStart(9, "0").replace(/0+$/, "")}`;
  return `${negative ? "-" : ""}${abs}${fraction}s`;
}

function structOut(obj: Record<string, unknown>): JsonObject {
  const fields = (obj.fields ?? {}) as Record<string, Record<string, unknown>>;
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, valueOut(v)]));
}

function valueOut(obj: Record<string, unknown>): Json {
  if ("numberValue" in obj) return obj.numberValue as number;
  if ("stringValue" in obj) return obj.stringValue as string;
  if ("boolValue" in obj) return obj.boolValue as boolean;
  if ("structValue" in obj) return structOut(obj.structValue as Record<string, unknown>);
  if ("listValue" in obj) {
    const list = obj.listValue as { values?: Array<Record<string, unknown>> };
    return (list.values ?? []).map(valueOut);
  }
  return null;
}
