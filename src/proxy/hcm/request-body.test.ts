// The request body's fan-out: the upstream attempt gets back-pressure, mirrors never slow the
// request and are dropped once they lag more than the buffer limit behind it.
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { type BodySink, RequestBody } from "./request-body.ts";

/** A sink that records what it gets; `accept` says what write returns. */
function recordingSink(accept: boolean) {
  let ended!: () => void;
  const sink = {
    bytes: 0,
    aborted: false,
    endCalled: false,
    ended: new Promise<void>((resolve) => {
      ended = resolve;
    }),
    write(chunk: Uint8Array): boolean {
      sink.bytes += chunk.byteLength;
      return accept;
    },
    end(): void {
      sink.endCalled = true;
      ended();
    },
    onDrain(): void {},
    abort(): void {
      sink.aborted = true;
    },
  } satisfies BodySink & Record<string, unknown>;
  return sink;
}

describe("request body mirrors", () => {
  it("drops a mirror that lags more than the buffer limit, without slowing the request", async () => {
    const source = new PassThrough();
    const body = new RequestBody(source, 1000);
    const upstream = recordingSink(true);
    // A mirror that never drains: everything written to it stays buffered.
    const mirror = recordingSink(false);
    body.attach(upstream);
    body.attachMirror(mirror);
    for (let i = 0; i < 10; i++) source.write(new Uint8Array(400));
    source.end();
    await upstream.ended;
    expect(upstream.bytes).toBe(4000);
    expect(mirror.aborted).toBe(true);
    // The first chunk it refused, then no more than the buffer limit behind it.
    expect(mirror.bytes).toBeLessThanOrEqual(400 + 1000);
    expect(mirror.endCalled).toBe(false);
  });

  it("keeps a mirror that keeps up", async () => {
    const source = new PassThrough();
    const body = new RequestBody(source, 1000);
    const upstream = recordingSink(true);
    const mirror = recordingSink(true);
    body.attach(upstream);
    body.attachMirror(mirror);
    for (let i = 0; i < 10; i++) source.write(new Uint8Array(400));
    source.end();
    await Promise.all([upstream.ended, mirror.ended]);
    expect(mirror.bytes).toBe(4000);
    expect(mirror.aborted).toBe(false);
  });
});
