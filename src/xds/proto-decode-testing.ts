// Helpers of the reflective decoder's tests (proto-decode*.test.ts): the comparison with
// protobufjs's own decode + toObject, and a hand-written wire format.
import protobuf from "protobufjs";
import { expect } from "vitest";
import { decodeMessageJson } from "./proto-decode.ts";
import { type Json, messageToJson } from "./proto-json.ts";

/** The same value, and the same text once stringified (so the same key order). */
export function expectIdentical(actual: unknown, expected: unknown, label?: string): void {
  expect(actual, label).toStrictEqual(expected);
  expect(JSON.stringify(actual), label).toBe(JSON.stringify(expected));
}

/** protobufjs's own decode and toObject: the path decodeJson took before proto-decode.ts. */
export function protobufjsJson(type: protobuf.Type, bytes: Uint8Array): Json {
  return messageToJson(type, type.decode(bytes));
}

/** Decodes `bytes` with proto-decode.ts, expecting protobufjs's JSON; returns it. */
export function expectSameAsProtobufjs(
  type: protobuf.Type,
  bytes: Uint8Array,
  label?: string,
): Json {
  const actual = decodeMessageJson(type, bytes);
  expectIdentical(actual, protobufjsJson(type, bytes), label);
  return actual;
}

// Wire types.
export const VARINT = 0;
export const FIXED64_WIRE = 1;
export const LENGTH = 2;
export const START_GROUP = 3;
export const END_GROUP = 4;
export const FIXED32_WIRE = 5;

/** Writes a field's key. */
export function key(w: protobuf.Writer, id: number, wire: number): protobuf.Writer {
  return w.uint32(((id << 3) | wire) >>> 0);
}

/** The bytes `write` writes. */
export function bytesOf(write: (w: protobuf.Writer) => void): Uint8Array {
  const w = protobuf.Writer.create();
  write(w);
  return w.finish();
}
