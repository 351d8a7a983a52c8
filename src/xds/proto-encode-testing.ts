// Helpers of the reflective encoder's tests (proto-encode*.test.ts): the path encodeJson took
// before proto-encode.ts, and the comparison of its outcome with the new one's.
import type protobuf from "protobufjs";
import { expect } from "vitest";
import { CremaError } from "../base/errors.ts";
import { encodeMessageJson } from "./proto-encode.ts";
import { jsonToProtobufObject } from "./proto-json.ts";

/** proto-json.ts's well-known-type mapping, then protobufjs's fromObject and encode. */
export function protobufjsEncode(type: protobuf.Type, json: unknown): Uint8Array {
  return type.encode(type.fromObject(jsonToProtobufObject(type, json))).finish();
}

export type Outcome = { bytes: string } | { error: unknown };

/** What `encode` gives: its bytes in hex, or what it throws. */
export function outcomeOf(encode: () => Uint8Array): Outcome {
  try {
    return { bytes: Buffer.from(encode()).toString("hex") };
  } catch (error) {
    return { error };
  }
}

/**
 * Encodes `json` both ways and expects the same bytes, or, where the old path throws, an error
 * from the new one too: a CremaError CREMA_XDS_INVALID_RESOURCE, with the old path's message
 * where that was a CremaError too. Returns both outcomes.
 */
export function expectSameAsProtobufjs(
  type: protobuf.Type,
  json: unknown,
  label?: string,
): { ours: Outcome; theirs: Outcome } {
  const theirs = outcomeOf(() => protobufjsEncode(type, json));
  const ours = outcomeOf(() => encodeMessageJson(type, json));
  if ("bytes" in theirs) {
    expect(ours, label).toEqual(theirs);
    return { ours, theirs };
  }
  expect("error" in ours, `${label}: old path threw ${String(theirs.error)}`).toBe(true);
  const error = (ours as { error: unknown }).error;
  expect(error, label).toBeInstanceOf(CremaError);
  expect((error as CremaError).code, label).toBe("CREMA_XDS_INVALID_RESOURCE");
  if (theirs.error instanceof CremaError)
    expect((error as CremaError).message, label).toBe(theirs.error.message);
  return { ours, theirs };
}
