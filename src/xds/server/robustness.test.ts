// Bad clients, cancels, rejections and shutdown end one stream cleanly and never the server.
import {
  type ClientDuplexStream,
  credentials,
  makeGenericClientConstructor,
  status,
} from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADS_SERVICE, type DiscoveryResponse } from "../discovery-messages.ts";
import {
  CDS,
  cluster,
  EDS,
  type Harness,
  namesOf,
  Reader,
  request,
  startHarness,
} from "./test-support.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
  h.source.set(CDS, "a", cluster("a"));
});
afterEach(() => h.stop());

/** A stream on a healthy connection still gets served. */
async function stillServes(): Promise<void> {
  const { stream, reader } = h.sotw();
  stream.write(request(CDS, [], { node: { id: "healthy" } }));
  expect(namesOf((await reader.next()).resources)).toEqual(["a"]);
  stream.end();
  expect((await reader.status).code).toBe(status.OK);
}

describe("ADS robustness", () => {
  it("ends a stream with a malformed type URL with INVALID_ARGUMENT", async () => {
    for (const typeUrl of ["garbage", "", "type.googleapis.com/"]) {
      const { stream, reader } = h.sotw();
      stream.write(request(typeUrl, [], { node: { id: "bad" } }));
      expect(await reader.status).toMatchObject({ code: status.INVALID_ARGUMENT });
    }
    const { stream, reader } = h.delta();
    stream.write({
      type_url: "nope",
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: "",
    });
    expect((await reader.status).code).toBe(status.INVALID_ARGUMENT);
    expect(h.ads.connections()).toEqual([]);
    await stillServes();
  });

  it("survives bytes that are not a DiscoveryRequest", async () => {
    const raw = {
      ...ADS_SERVICE,
      StreamAggregatedResources: {
        ...ADS_SERVICE.StreamAggregatedResources,
        requestSerialize: (bytes: Buffer) => bytes,
      },
    };
    const Client = makeGenericClientConstructor(raw, "AggregatedDiscoveryService");
    const client = new Client(h.address, credentials.createInsecure()) as unknown as {
      StreamAggregatedResources(): ClientDuplexStream<Buffer, DiscoveryResponse>;
      close(): void;
    };
    const stream = client.StreamAggregatedResources();
    const reader = new Reader(stream);
    stream.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect((await reader.status).code).not.toBe(status.OK);
    client.close();
    await stillServes();
  });

  it("rejects a node the source refuses, with its reason", async () => {
    h.source.rejected.set("intruder", "unknown workload");
    const { stream, reader } = h.sotw();
    stream.write(request(CDS, [], { node: { id: "intruder" } }));
    expect(await reader.status).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "unknown workload",
    });
    expect(h.source.disconnected).toEqual([]);
  });

  it("cleans up when the client cancels mid-stream", async () => {
    const { stream, reader } = h.sotw();
    stream.write(request(CDS, [], { node: { id: "leaver" } }));
    await reader.next();
    const [connection] = h.ads.connections();
    stream.cancel();
    await h.events.waitFor((e) => e.kind === "disconnect");
    expect(h.source.disconnected).toEqual([connection?.id]);
    expect(h.ads.connections()).toEqual([]);
    h.ads.push(); // nothing left to push to
    await stillServes();
  });

  it("ends with OK when the client half-closes", async () => {
    const { stream, reader } = h.delta();
    stream.end();
    expect((await reader.status).code).toBe(status.OK);
  });

  it("keeps the stream when the source throws, and serves once it recovers", async () => {
    h.source.resources = () => {
      throw new Error("source bug");
    };
    const { stream, reader } = h.sotw();
    stream.write(request(EDS, ["a"], { node: { id: "unlucky" } }));
    await h.events.waitFor((e) => e.kind === "connect");
    expect(reader.buffered).toBe(0);
    h.source.resources = (_key, _typeUrl) => ({
      version: "v9",
      resources: new Map([["a", cluster("a")]]),
    });
    h.ads.push();
    expect((await reader.next()).version_info).toBe("v9");
  });

  it("ends every stream with UNAVAILABLE on close and refuses new ones", async () => {
    const one = h.sotw();
    one.stream.write(request(CDS, [], { node: { id: "p1" } }));
    await one.reader.next();
    const two = h.delta(); // not connected yet: no request sent
    await h.ads.close();
    expect((await one.reader.status).code).toBe(status.UNAVAILABLE);
    expect((await two.reader.status).code).toBe(status.UNAVAILABLE);
    expect(h.ads.connections()).toEqual([]);
    expect(h.source.disconnected).toHaveLength(1);
    const late = h.sotw();
    late.stream.write(request(CDS, [], { node: { id: "late" } }));
    expect((await late.reader.status).code).toBe(status.UNAVAILABLE);
  });
});
