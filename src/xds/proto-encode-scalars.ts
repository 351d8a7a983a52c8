// The reflective encoder's scalars (proto-encode.ts): how a JSON value becomes a field's value and
// when it is left out, exactly as protobufjs's generated fromObject (converter.js) and encoder
// (encoder.js) do it, and the Writer calls that write it. Mirroring them, odd input keeps its old
// bytes: a number for a string field is written as its String(), "false" for a bool is true,
// "abc" for an int32 is 0 and left out, a negative uint64 number is 0, an unknown enum name is
// left out and an unknown number of an open enum kept.
import protobuf from "protobufjs";
import { type EncodeField, READ } from "./proto-encode-plan.ts";

/** What fromObject leaves unset (an unknown enum value, bytes given as neither text nor bytes). */
export const UNSET: unique symbol = Symbol("unset");

type Long = { low: number; high: number };
type LongStatic = {
  fromValue(value: unknown, unsigned?: boolean): Long;
};
type Methods = Record<string, (value: unknown) => protobuf.Writer>;

const util = protobuf.util as unknown as {
  Long: LongStatic | null | undefined;
  LongBits: new (lo: number, hi: number) => { toNumber(unsigned?: boolean): number };
  longFromKey(key: string, unsigned: boolean): unknown;
  newBuffer(size: number): Uint8Array;
  base64: {
    length(text: string): number;
    decode(text: string, into: Uint8Array, at: number): number;
  };
};

/** Writer methods by scalar kind (READ), for one value and for a packed run. */
const ONE = [
  "double",
  "float",
  "int32",
  "uint32",
  "sint32",
  "fixed32",
  "sfixed32",
  "int64",
  "uint64",
  "sint64",
  "fixed64",
  "sfixed64",
  "bool",
  "string",
  "bytes",
];

function isLong(scalar: number): boolean {
  return scalar >= READ.INT64 && scalar <= READ.SFIXED64;
}

function isUnsigned(scalar: number): boolean {
  return scalar === READ.UINT64 || scalar === READ.FIXED64;
}

/**
 * fromObject's value for `d` (not null): the enum's number, Number(), `|0`, `>>>0`, a Long,
 * String(), Boolean(), bytes from base64; UNSET where fromObject sets nothing. Throws what
 * protobufjs or long.js throw (a null element of a bytes list, "1-2" for an int64, bad base64).
 */
export function convert(field: EncodeField, d: unknown): unknown {
  const byName = field.enumByName;
  if (byName !== undefined) {
    if (typeof d === "string") return byName.get(d) ?? UNSET;
    if (typeof d === "number" && (field.enumNumbers!.has(d) || (!field.closed && (d | 0) === d)))
      return d;
    return UNSET;
  }
  switch (field.scalar) {
    case READ.DOUBLE:
    case READ.FLOAT:
      return Number(d);
    case READ.UINT32:
    case READ.FIXED32:
      return (d as number) >>> 0;
    case READ.INT32:
    case READ.SINT32:
    case READ.SFIXED32:
      return (d as number) | 0;
    case READ.STRING:
      return typeof d === "string" ? d : String(d);
    case READ.BOOL:
      return Boolean(d);
    case READ.BYTES:
      return bytesOf(d);
    default:
      return isLong(field.scalar) ? longOf(d, isUnsigned(field.scalar)) : d;
  }
}

const SMALL_INTEGER = /^\d{1,15}$/;

function longOf(d: unknown, unsigned: boolean): unknown {
  const Long = util.Long;
  if (Long) {
    // Exact as a double and non-negative: the same 64 bits as long.js's, without the object.
    if (typeof d === "number" && Number.isSafeInteger(d) && d >= 0) return d;
    if (typeof d === "string" && SMALL_INTEGER.test(d)) return Number(d);
    return Long.fromValue(d, unsigned);
  }
  if (typeof d === "string") return Number.parseInt(d, 10);
  if (typeof d === "number") return d;
  if (typeof d === "object") {
    const { low, high } = d as Long;
    return new util.LongBits(low >>> 0, high >>> 0).toNumber(unsigned);
  }
  return UNSET;
}

function bytesOf(d: unknown): unknown {
  if (typeof d === "string") {
    const buffer = util.newBuffer(util.base64.length(d));
    util.base64.decode(d, buffer, 0);
    return buffer;
  }
  // `d.length` throws for null, as protobufjs's does.
  if ((d as { length: number }).length >= 0) {
    // fromObject would take any object with a length, and the writer then reserve that many
    // bytes: only real byte arrays and lists of numbers are taken.
    if (Array.isArray(d) || ArrayBuffer.isView(d)) return d;
    throw TypeError("an object with a length is not bytes");
  }
  return UNSET;
}

/** fromObject's test, for a field without presence, of whether `d` is set at all. */
export function isSetInput(field: EncodeField, d: unknown): boolean {
  if (field.enumByName !== undefined)
    return (
      d !== field.typeDefault &&
      (typeof d !== "string" || field.enumByName.get(d) !== field.typeDefault)
    );
  switch (field.scalar) {
    case READ.STRING:
      return typeof d !== "string" || d.length > 0;
    case READ.BYTES:
      return Boolean((d as { length?: unknown }).length);
    case READ.BOOL:
      return Boolean(d);
    case READ.DOUBLE:
    case READ.FLOAT:
      return !Object.is(Number(d), 0);
    default:
      if (isLong(field.scalar) && typeof d === "object")
        return Boolean((d as Long).low || (d as Long).high);
      return Number(d) !== 0;
  }
}

/** The encoder's test, for a field without presence, of whether value `m` is written. */
export function isWritten(field: EncodeField, m: unknown): boolean {
  if (field.enumByName !== undefined) return m !== field.typeDefault;
  switch (field.scalar) {
    case READ.STRING:
      return m !== "";
    case READ.BYTES:
      return Boolean((m as { length: number }).length);
    case READ.BOOL:
      return m !== false;
    case READ.DOUBLE:
    case READ.FLOAT:
      return !Object.is(m, 0);
    default:
      if (typeof m === "object") return Boolean((m as Long).low || (m as Long).high);
      return m !== 0;
  }
}

/** Writes one value of scalar kind `scalar` (READ). */
export function writeScalar(w: protobuf.Writer, scalar: number, value: unknown): void {
  switch (scalar) {
    case READ.STRING:
      w.string(value as string);
      return;
    case READ.INT32:
      w.int32(value as number);
      return;
    case READ.UINT32:
      w.uint32(value as number);
      return;
    case READ.BOOL:
      w.bool(value as boolean);
      return;
    case READ.DOUBLE:
      w.double(value as number);
      return;
    default:
      (w as unknown as Methods)[ONE[scalar]!]!(value);
  }
}

/** Writes `values` as one packed run (the length and the values; the key is the caller's). */
export function writePacked(w: protobuf.Writer, scalar: number, values: unknown[]): void {
  (w as unknown as Methods)[`${ONE[scalar]}s`]!(values);
}

/** Writes a map entry's key as the encoder does: bools and 64-bit keys from their text. */
export function writeMapKey(w: protobuf.Writer, field: EncodeField, key: string): void {
  w.uint32(field.keyTag);
  const scalar = field.keyScalar;
  if (scalar === READ.STRING) w.string(key);
  else if (scalar === READ.BOOL) w.bool(key === "true" || key === "1");
  else if (isLong(scalar)) writeScalar(w, scalar, util.longFromKey(key, isUnsigned(scalar)));
  else writeScalar(w, scalar, key);
}
