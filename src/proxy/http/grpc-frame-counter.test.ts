import { describe, expect, it } from "vitest";
import { GrpcFrameCounter } from "./grpc-frame-counter.ts";

/** One length-prefixed gRPC message with a payload of `length` bytes (each `fill`). */
function message(length: number, fill = 0x2a, flag = 0): Uint8Array {
  const out = new Uint8Array(5 + length).fill(fill);
  out[0] = flag;
  new DataView(out.buffer).setUint32(1, length);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Feeds `body` cut at `cuts` (offsets) and returns the per-chunk deltas. */
function feed(counter: GrpcFrameCounter, body: Uint8Array, cuts: number[]): number[] {
  const deltas: number[] = [];
  let from = 0;
  for (const to of [...cuts, body.length]) {
    deltas.push(counter.inspect(body.subarray(from, to)));
    from = to;
  }
  return deltas;
}

describe("GrpcFrameCounter", () => {
  it("counts one whole message", () => {
    const counter = new GrpcFrameCounter();
    expect(counter.inspect(message(10))).toBe(1);
    expect(counter.count).toBe(1);
  });

  it("counts many messages in one chunk", () => {
    const counter = new GrpcFrameCounter();
    const body = concat(message(3), message(0), message(200), message(1, 0, 1), message(7));
    expect(counter.inspect(body)).toBe(5);
    expect(counter.count).toBe(5);
  });

  it("survives a split anywhere: in the prefix, at its end, in the payload", () => {
    // Payload bytes equal to 0 and 5 would be misread as a prefix if the state were lost.
    const body = concat(message(6, 0), message(4, 5), message(0), message(9, 0));
    for (let cut = 0; cut <= body.length; cut++) {
      const counter = new GrpcFrameCounter();
      const deltas = feed(counter, body, [cut]);
      expect(counter.count, `cut at ${cut}`).toBe(4);
      expect(deltas[0]! + deltas[1]!).toBe(4);
    }
  });

  it("counts a body fed one byte at a time", () => {
    const body = concat(message(2), message(0), message(300), message(1));
    const counter = new GrpcFrameCounter();
    const cuts = Array.from({ length: body.length - 1 }, (_, i) => i + 1);
    const deltas = feed(counter, body, cuts);
    expect(counter.count).toBe(4);
    // Each message counts at its flag byte.
    expect(deltas.flatMap((d, i) => (d > 0 ? [i] : []))).toEqual([0, 7, 12, 317]);
  });

  it("counts zero-length messages, back to back and across chunks", () => {
    const counter = new GrpcFrameCounter();
    const body = concat(message(0), message(0), message(0));
    expect(feed(counter, body, [7, 10])).toEqual([2, 0, 1]);
    expect(counter.inspect(message(0))).toBe(1);
    expect(counter.count).toBe(4);
  });

  it("returns 0 for an empty chunk and for a chunk inside a payload", () => {
    const counter = new GrpcFrameCounter();
    expect(counter.inspect(new Uint8Array(0))).toBe(0);
    const body = message(100);
    expect(counter.inspect(body.subarray(0, 20))).toBe(1);
    expect(counter.inspect(body.subarray(20, 60))).toBe(0);
    expect(counter.inspect(body.subarray(60))).toBe(0);
    expect(counter.inspect(message(1))).toBe(1);
    expect(counter.count).toBe(2);
  });

  it("counts a trailing message cut short once its flag byte arrived, as Envoy does", () => {
    // Envoy's FrameInspector counts a frame at its first byte, so a stream reset mid-message has
    // still sent that message as far as the message counters go.
    const counter = new GrpcFrameCounter();
    expect(counter.inspect(concat(message(4), message(50).subarray(0, 3)))).toBe(2);
    expect(counter.count).toBe(2);
    const inPayload = new GrpcFrameCounter();
    expect(inPayload.inspect(concat(message(1), message(50).subarray(0, 20)))).toBe(2);
    // Nothing of the next message yet: only the whole one counts.
    const between = new GrpcFrameCounter();
    expect(between.inspect(message(4))).toBe(1);
  });

  it("keeps lengths of 2^31 and more as lengths (no sign from the top bit)", () => {
    const counter = new GrpcFrameCounter();
    const prefix = new Uint8Array([0, 0xff, 0xff, 0xff, 0xff]);
    expect(counter.inspect(prefix)).toBe(1);
    // Still inside the 4 GiB payload: prefix-looking bytes are payload.
    expect(counter.inspect(concat(message(0), message(0)))).toBe(0);
    expect(counter.count).toBe(1);
  });
});
