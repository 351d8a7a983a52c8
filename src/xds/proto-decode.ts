// Decodes protobuf binary straight into crema's proto3-JSON by walking a plan of each message type
// (proto-decode-plan.ts: made from protobufjs's reflection, or read from a table generated ahead
// of time) with protobufjs's wire Reader. protobufjs's own type.decode/toObject first generate
// five functions per message type with `new Function`; the first xDS push reaches a few hundred
// types, and that code generation was most of the CPU a sidecar spent decoding it.
//
// The JSON is exactly what `type.toObject(type.decode(bytes), { enums: String, longs: String,
// bytes: String })` followed by the well-known-type mapping (well-known-json.ts) gives, key order
// included: fields in field-number order (toObject's), present ones only. The wire rules are
// those of protobufjs's generated decoder (protobufjs/src/decoder.js): both packed and unpacked
// repeated scalars are read, a field with an unexpected wire type is skipped like an unknown
// one, a message given twice is merged, the last scalar wins and a later proto3 default clears
// it, setting a oneof member clears the others, closed (proto2) enums drop unknown numbers, and
// malformed input throws protobufjs's own errors. A message is first read into slots (one per
// field, by number; proto-decode-plan.ts lists them) so that merging works, then turned into
// JSON.
import protobuf from "protobufjs";
import { CremaError } from "../base/errors.ts";
import {
  childOf,
  type FieldPlan,
  FORM,
  KIND,
  planOf,
  READ,
  type TypePlan,
} from "./proto-decode-plan.ts";
import type { Json, JsonObject } from "./proto-json.ts";
import { messageNameOf } from "./type-urls.ts";
import { anyJson, wellKnownJson } from "./well-known-json.ts";

/** protobufjs's nesting limit for one message (protoc's default); deeper input throws. */
const RECURSION_LIMIT = protobuf.Reader.recursionLimit ?? 100;

/**
 * Nesting limit across Any values: protobufjs counts each Any's contents afresh, so chained Anys
 * could otherwise nest until the stack overflows.
 */
const MAX_NESTING = 5 * RECURSION_LIMIT;

type Slots = unknown[];
type Long = { low: number; high: number; toString(): string };

/** Decodes binary `type` into its proto3-JSON (see the file header for the rules). */
export function decodeMessageJson(type: protobuf.Type, bytes: Uint8Array): Json {
  return decodeNested(planOf(type), bytes, 0);
}

/** Decodes binary of the type `plan` is of into its proto3-JSON. */
export function decodePlannedJson(plan: TypePlan, bytes: Uint8Array): Json {
  return decodeNested(plan, bytes, 0);
}

/** `nesting`: how deep the Anys this message sits in are nested, in messages. */
function decodeNested(plan: TypePlan, bytes: Uint8Array, nesting: number): Json {
  const reader = protobuf.Reader.create(bytes);
  const slots = decodeInto(plan, reader, undefined, undefined, 0, undefined);
  return toJson(plan, slots, nesting);
}

/**
 * Reads one message (`length` bytes, a group up to `groupEnd`, or the rest of the reader) into
 * `into`, or into new slots, and returns them.
 */
function decodeInto(
  plan: TypePlan,
  r: protobuf.Reader,
  length: number | undefined,
  groupEnd: number | undefined,
  depth: number,
  into: Slots | undefined,
): Slots {
  if (depth > RECURSION_LIMIT) throw Error("max depth exceeded");
  let end = r.len;
  let outerLen = 0;
  if (length !== undefined) {
    end = r.pos + length;
    if (end > r.len) throw RangeError("index out of range");
    outerLen = r.len;
    r.len = end;
  }
  const slots = into ?? newSlots(plan);
  const byNumber = plan.byNumber;
  let pendingEnd = groupEnd;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === pendingEnd) {
      pendingEnd = undefined;
      break;
    }
    const wire = tag & 7;
    const number = tag >>> 3;
    const field = byNumber[number];
    if (field !== undefined) {
      switch (field.kind) {
        case KIND.SCALAR:
          if (wire !== field.wire) break;
          readSingular(field, r, slots);
          continue;
        case KIND.MESSAGE: {
          if (wire !== field.wire) break;
          const child = childOf(plan, field);
          const existing = slots[field.slot] as Slots | undefined;
          slots[field.slot] =
            field.groupEnd === undefined
              ? decodeInto(child, r, r.size(), undefined, depth + 1, existing)
              : decodeInto(child, r, undefined, field.groupEnd, depth + 1, existing);
          if (field.siblings) clear(slots, field.siblings);
          continue;
        }
        case KIND.REPEATED: {
          if (wire === 2 && field.packable) {
            readPacked(field, r, slots, end);
            continue;
          }
          if (wire !== field.wire) break;
          const raw = readValue(r, field.read);
          if (field.closed && field.names![raw as number] === undefined) continue;
          listIn(slots, field.slot).push(jsonOf(field, raw));
          continue;
        }
        case KIND.REPEATED_MESSAGE: {
          if (wire !== field.wire) break;
          const child = childOf(plan, field);
          const element =
            field.groupEnd === undefined
              ? decodeInto(child, r, r.size(), undefined, depth + 1, undefined)
              : decodeInto(child, r, undefined, field.groupEnd, depth + 1, undefined);
          listIn(slots, field.slot).push(element);
          continue;
        }
        case KIND.MAP:
          if (wire !== 2) break;
          readMapEntry(plan, field, r, slots, end, depth);
          continue;
      }
    }
    // protobufjs checks an end-group tag against the field number, or, in a message without
    // fields, against the whole tag.
    r.skipType(wire, depth, plan.fields.length ? number : tag);
  }
  if (length !== undefined) {
    if (r.pos !== end) throw RangeError("index out of range");
    r.len = outerLen;
  }
  if (pendingEnd !== undefined) throw Error("missing end group");
  for (const field of plan.required)
    if (slots[field.slot] === undefined) throw Error(`missing required '${field.name}'`);
  return slots;
}

function newSlots(plan: TypePlan): Slots {
  return new Array(plan.fields.length).fill(undefined);
}

function listIn(slots: Slots, slot: number): unknown[] {
  let list = slots[slot] as unknown[] | undefined;
  if (list === undefined) {
    list = [];
    slots[slot] = list;
  }
  return list;
}

/** A map's entries by protobufjs's key (a null prototype keeps "__proto__" an own key). */
function mapIn(slots: Slots, slot: number): Record<string, unknown> {
  let map = slots[slot] as Record<string, unknown> | undefined;
  if (map === undefined) {
    map = Object.create(null) as Record<string, unknown>;
    slots[slot] = map;
  }
  return map;
}

function clear(slots: Slots, siblings: readonly number[]): void {
  for (const s of siblings) slots[s] = undefined;
}

function readSingular(field: FieldPlan, r: protobuf.Reader, slots: Slots): void {
  const raw = readValue(r, field.read);
  if (field.closed && field.names![raw as number] === undefined) return;
  if (field.presence || !isDefault(field, raw)) {
    slots[field.slot] = jsonOf(field, raw);
    if (field.siblings) clear(slots, field.siblings);
  } else {
    slots[field.slot] = undefined;
  }
}

/** Whether a value of a field without presence is its default, which protobufjs leaves unset. */
function isDefault(field: FieldPlan, raw: unknown): boolean {
  if (field.names) return raw === field.enumDefault;
  switch (field.read) {
    case READ.STRING:
    case READ.STRING_VERIFIED:
    case READ.BYTES:
      return (raw as string | Uint8Array).length === 0;
    case READ.INT64:
    case READ.UINT64:
    case READ.SINT64:
    case READ.FIXED64:
    case READ.SFIXED64:
      return typeof raw === "object" ? !((raw as Long).low || (raw as Long).high) : raw === 0;
    case READ.DOUBLE:
    case READ.FLOAT:
      return Object.is(raw, 0);
    default:
      return !raw;
  }
}

function readPacked(field: FieldPlan, r: protobuf.Reader, slots: Slots, end: number): void {
  const length = r.size();
  const stop = r.pos + length;
  if (stop > r.len) throw RangeError("index out of range");
  r.len = stop;
  const values = listIn(slots, field.slot);
  while (r.pos < stop) {
    const raw = readValue(r, field.read);
    if (field.closed && field.names![raw as number] === undefined) continue;
    values.push(jsonOf(field, raw));
  }
  if (r.pos !== stop) throw RangeError("index out of range");
  r.len = end;
}

function readMapEntry(
  plan: TypePlan,
  field: FieldPlan,
  r: protobuf.Reader,
  slots: Slots,
  end: number,
  depth: number,
): void {
  const stop = r.size() + r.pos;
  if (stop > r.len) throw RangeError("index out of range");
  r.len = stop;
  let key: unknown = field.keyDefault;
  let raw: unknown;
  let hasValue = false;
  let value: Slots | undefined;
  while (r.pos < stop) {
    const tag = r.tag();
    const wire = tag & 7;
    const number = tag >>> 3;
    if (number === 1 && wire === field.keyWire) {
      key = readValue(r, field.keyRead);
      continue;
    }
    if (number === 2 && wire === field.wire) {
      if (field.typeName)
        value = decodeInto(childOf(plan, field), r, r.size(), undefined, depth + 1, value);
      else {
        raw = readValue(r, field.read);
        hasValue = true;
      }
      continue;
    }
    r.skipType(wire, depth, number);
  }
  if (r.pos !== stop) throw RangeError("index out of range");
  r.len = end;
  if (field.closed && field.names![hasValue ? (raw as number) : 0] === undefined) return;
  const map = mapIn(slots, field.slot);
  const name =
    field.longKey && typeof key === "object"
      ? protobuf.util.longToHash(key as Parameters<typeof protobuf.util.longToHash>[0])
      : String(key);
  map[name] = field.typeName
    ? (value ?? newSlots(childOf(plan, field)))
    : hasValue
      ? jsonOf(field, raw)
      : field.valueDefault;
}

function readValue(r: protobuf.Reader, read: number): unknown {
  switch (read) {
    case READ.DOUBLE:
      return r.double();
    case READ.FLOAT:
      return r.float();
    case READ.INT32:
      return r.int32();
    case READ.UINT32:
      return r.uint32();
    case READ.SINT32:
      return r.sint32();
    case READ.FIXED32:
      return r.fixed32();
    case READ.SFIXED32:
      return r.sfixed32();
    case READ.INT64:
      return r.int64();
    case READ.UINT64:
      return r.uint64();
    case READ.SINT64:
      return r.sint64();
    case READ.FIXED64:
      return r.fixed64();
    case READ.SFIXED64:
      return r.sfixed64();
    case READ.BOOL:
      return r.bool();
    case READ.STRING:
      return r.string();
    case READ.STRING_VERIFIED:
      return r.stringVerify();
    case READ.BYTES:
      return r.bytes();
    default:
      throw Error(`no wire reader for value kind ${read}`);
  }
}

/**
 * A scalar's JSON as toObject gives it: enum names and 64-bit integers as strings. Bytes stay
 * bytes until output (`outValue`), so that an Any's value is decoded without a base64 round trip.
 */
function jsonOf(field: FieldPlan, raw: unknown): unknown {
  if (field.names) return field.names[raw as number] ?? raw;
  switch (field.read) {
    case READ.INT64:
    case READ.UINT64:
    case READ.SINT64:
    case READ.FIXED64:
    case READ.SFIXED64:
      return longString(raw as Long | number);
    default:
      return raw;
  }
}

function outValue(field: FieldPlan, value: unknown): Json {
  return (field.read === READ.BYTES ? base64(value as Uint8Array) : value) as Json;
}

function outList(field: FieldPlan, values: unknown[]): Json[] {
  return (
    field.read === READ.BYTES ? values.map((v) => base64(v as Uint8Array)) : values
  ) as Json[];
}

function longString(value: Long | number): string {
  if (typeof value === "number") return String(value);
  if (value.high === 0 && value.low >= 0) return String(value.low);
  return value.toString();
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

// ---- slots → JSON ----

function toJson(plan: TypePlan, slots: Slots, nesting: number): Json {
  if (nesting > MAX_NESTING)
    throw new CremaError(
      "CREMA_XDS_INVALID_RESOURCE",
      `messages nested more than ${MAX_NESTING} deep (through Any values)`,
    );
  if (plan.form === FORM.WELL_KNOWN) return wellKnownJson(plan.name, toObject(plan, slots)) as Json;
  if (plan.form === FORM.ANY) return anyToJson(plan, slots, nesting);
  return fieldsOut(plan, slots, (child, s) => toJson(child, s, nesting + 1)) as JsonObject;
}

/** protobufjs's object form (toObject's), the input of the well-known-type mapping. */
function toObject(plan: TypePlan, slots: Slots): Record<string, unknown> {
  return fieldsOut(plan, slots, toObject);
}

/** The present fields in number order, each message in them turned by `message`. */
function fieldsOut(
  plan: TypePlan,
  slots: Slots,
  message: (plan: TypePlan, slots: Slots) => unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of plan.fields) {
    const value = slots[field.slot];
    if (value === undefined) continue;
    switch (field.kind) {
      case KIND.SCALAR:
        out[field.name] = outValue(field, value);
        break;
      case KIND.MESSAGE:
        out[field.name] = message(childOf(plan, field), value as Slots);
        break;
      case KIND.REPEATED:
        if ((value as unknown[]).length) out[field.name] = outList(field, value as unknown[]);
        break;
      case KIND.REPEATED_MESSAGE: {
        const child = childOf(plan, field);
        const list = value as Slots[];
        if (list.length) out[field.name] = list.map((s) => message(child, s));
        break;
      }
      case KIND.MAP: {
        const map = mapOut(plan, field, value as Record<string, unknown>, message);
        if (map) out[field.name] = map;
        break;
      }
    }
  }
  return out;
}

/** A map's entries in protobufjs's key order, or undefined when it has none. */
function mapOut(
  plan: TypePlan,
  field: FieldPlan,
  map: Record<string, unknown>,
  message: (plan: TypePlan, slots: Slots) => unknown,
): Record<string, unknown> | undefined {
  const keys = Object.keys(map);
  if (!keys.length) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const name = field.longKey ? protobuf.util.longFromKey(key, field.unsignedKey).toString() : key;
    const value = field.typeName
      ? message(childOf(plan, field), map[key] as Slots)
      : outValue(field, map[key]);
    if (name === "__proto__")
      Object.defineProperty(out, name, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    else out[name] = value;
  }
  return out;
}

function anyToJson(plan: TypePlan, slots: Slots, nesting: number): Json {
  let url: unknown;
  let bytes: Uint8Array = new Uint8Array();
  for (const field of plan.fields) {
    const value = slots[field.slot];
    if (field.name === "type_url") url = value;
    else if (field.name === "value" && value !== undefined) bytes = asBuffer(value as Uint8Array);
  }
  const typeUrl = String(url ?? "");
  const inner = plan.source.plan(messageNameOf(typeUrl));
  return anyJson(typeUrl, inner?.name, bytes, () => decodeNested(inner!, bytes, nesting + 1));
}

// As a Buffer, protobufjs reads the value with its BufferReader, as it reads the copy the
// object-form path makes from base64.
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
