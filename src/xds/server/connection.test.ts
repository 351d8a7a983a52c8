// A connection without gRPC: backpressure coalescing and push-to-ACK timing on a manual clock.
import { describe, expect, it } from "vitest";
import { manualClock } from "../../base/clock.ts";
import { silentLogger } from "../../base/logger.ts";
import type { DiscoveryResponse } from "../discovery-messages.ts";
import type { ConnectionContext } from "./connection.ts";
import { ResourceEncoder } from "./encoding.ts";
import { SotwConnection } from "./sotw.ts";
import { ack, CDS, cluster, EDS, endpoints, FakeSource, namesOf, request } from "./test-support.ts";
import type { AdsEvent } from "./types.ts";

function setup() {
  const source = new FakeSource();
  source.set(CDS, "a", cluster("a"));
  source.set(EDS, "a", endpoints("a", 1));
  const clock = manualClock(1000);
  const events: AdsEvent[] = [];
  let nonce = 0;
  const ctx: ConnectionContext = {
    source,
    encoder: new ResourceEncoder(),
    logger: silentLogger(),
    clock,
    emit: (e) => events.push(e),
    wildcardTypes: new Set([CDS]),
    nextNonce: () => `n${++nonce}`,
  };
  const stream = {
    writes: [] as DiscoveryResponse[],
    full: false,
    drain: undefined as (() => void) | undefined,
    write(message: DiscoveryResponse) {
      this.writes.push(message);
      return !this.full;
    },
    once(_event: "drain", listener: () => void) {
      this.drain = listener;
    },
  };
  const identity = { id: "c-1", nodeId: "n", node: undefined, key: "n", peer: "test" };
  const connection = new SotwConnection(ctx, identity, stream);
  return { source, clock, events, stream, connection };
}

describe("connection", () => {
  it("holds sends while the stream is full and then sends only the latest, in push order", () => {
    const { source, stream, connection } = setup();
    stream.full = true;
    connection.handle(request(CDS, []));
    expect(stream.writes).toHaveLength(1);
    connection.handle(request(EDS, ["a"])); // deferred: must still be answered
    source.set(CDS, "b", cluster("b"));
    connection.push();
    source.set(CDS, "c", cluster("c"));
    connection.push();
    expect(stream.writes).toHaveLength(1);

    stream.full = false;
    stream.drain?.();
    expect(stream.writes.map((w) => w.type_url)).toEqual([CDS, CDS, EDS]);
    expect(namesOf(stream.writes[1]!.resources)).toEqual(["a", "b", "c"]);
    expect(connection.status().types.map((t) => t.lastSent?.nonce)).toEqual(["n2", "n3"]);
  });

  it("reports the time from push to ACK", () => {
    const { clock, events, stream, connection } = setup();
    connection.handle(request(EDS, ["a"]));
    clock.advance(250);
    connection.handle(ack(stream.writes[0]!, ["a"]));
    expect(events.at(-1)).toMatchObject({
      kind: "ack",
      typeUrl: EDS,
      nonce: "n1",
      durationMs: 250,
    });
    expect(connection.status().types[0]?.lastAck).toEqual({
      version: stream.writes[0]!.version_info,
      nonce: "n1",
      at: 1250,
    });
  });

  it("stops sending once closed", () => {
    const { source, stream, connection } = setup();
    connection.handle(request(CDS, []));
    connection.close();
    source.set(CDS, "b", cluster("b"));
    connection.push();
    expect(stream.writes).toHaveLength(1);
  });
});
