// Istio's TCP metadata exchange frame on the wire, and reading a peer's frame off a byte stream
// however it arrives — and whatever arrives instead.
import { describe, expect, it } from "vitest";
import { messageType } from "../../xds/envoy-protos.ts";
import { decodeJson, encodeJson } from "../../xds/proto-json.ts";
import {
  EXCHANGE_MAGIC,
  ExchangePayloadDecoder,
  ExchangeReader,
  encodeExchangeFrame,
  MAX_EXCHANGE_PAYLOAD_BYTES,
} from "./tcp-metadata-exchange.ts";
import { localWorkloadFromNode, type WorkloadMetadata } from "./workload-labels.ts";

const CLIENT = localWorkloadFromNode({
  id: "sidecar~10.0.0.5~sleep-5d8f9c6b7-abcde.default~default.svc.cluster.local",
  metadata: {
    NAME: "sleep-5d8f9c6b7-abcde",
    NAMESPACE: "default",
    WORKLOAD_NAME: "sleep",
    CLUSTER_ID: "Kubernetes",
    LABELS: { app: "sleep", version: "v2" },
    OWNER: "kubernetes://apis/apps/v1/namespaces/default/deployments/sleep",
  },
});

/** A frame around `payload`, as a peer might send it. */
function frame(payload: Uint8Array, length = payload.length, magic = EXCHANGE_MAGIC): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(magic, 0);
  header.writeUInt32BE(length, 4);
  return Buffer.concat([header, payload]);
}

function any(typeUrl: string, value: Uint8Array): Uint8Array {
  return messageType("google.protobuf.Any").encode({ type_url: typeUrl, value }).finish();
}

const struct = (json: object) => encodeJson(messageType("google.protobuf.Struct"), json as never);

/** A reader and what it settled on (`null` while unsettled). */
function reader(decoder = new ExchangePayloadDecoder()) {
  const settled: (WorkloadMetadata | undefined | null)[] = [];
  const r = new ExchangeReader(decoder, (peer) => settled.push(peer));
  return { r, settled };
}

describe("encodeExchangeFrame", () => {
  it("is the magic and the payload's length, big-endian, then an Any holding a Struct", () => {
    const bytes = encodeExchangeFrame(CLIENT);
    expect(bytes.readUInt32BE(0)).toBe(0x3d230467);
    expect(bytes.readUInt32BE(4)).toBe(bytes.length - 8);
    const payload = messageType("google.protobuf.Any").decode(bytes.subarray(8)) as unknown as {
      type_url: string;
      value: Uint8Array;
    };
    expect(payload.type_url).toBe("type.googleapis.com/google.protobuf.Struct");
    expect(decodeJson(messageType("google.protobuf.Struct"), payload.value)).toEqual({
      "x-envoy-peer-metadata": {
        NAME: "sleep-5d8f9c6b7-abcde",
        NAMESPACE: "default",
        WORKLOAD_NAME: "sleep",
        CLUSTER_ID: "Kubernetes",
        LABELS: {
          app: "sleep",
          version: "v2",
          "service.istio.io/canonical-name": "sleep",
          "service.istio.io/canonical-revision": "v2",
        },
        OWNER: "kubernetes://apis/apps/v1/namespaces/default/deployments/sleep",
      },
      "x-envoy-peer-metadata-id":
        "sidecar~10.0.0.5~sleep-5d8f9c6b7-abcde.default~default.svc.cluster.local",
    });
  });

  it("serializes deterministically, so every proxy of a workload sends the same bytes", () => {
    expect(encodeExchangeFrame(CLIENT).equals(encodeExchangeFrame(CLIENT))).toBe(true);
  });
});

describe("ExchangeReader", () => {
  it("takes a whole frame off the front and passes on what follows", () => {
    const { r, settled } = reader();
    const out = r.read(Buffer.concat([encodeExchangeFrame(CLIENT), Buffer.from("hello")]));
    expect(out.toString()).toBe("hello");
    expect(r.done).toBe(true);
    expect(settled).toHaveLength(1);
    expect(settled[0]).toMatchObject({
      workloadName: "sleep",
      namespace: "default",
      app: "sleep",
      version: "v2",
      canonicalName: "sleep",
      clusterId: "Kubernetes",
    });
    expect(r.read(Buffer.from(" world")).toString()).toBe(" world");
  });

  it("reads a frame arriving one byte at a time, passing nothing on until it is whole", () => {
    const { r, settled } = reader();
    const bytes = Buffer.concat([encodeExchangeFrame(CLIENT), Buffer.from("x")]);
    const passed: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) passed.push(r.read(bytes.subarray(i, i + 1)));
    expect(Buffer.concat(passed).toString()).toBe("x");
    expect(settled.map((p) => p?.workloadName)).toEqual(["sleep"]);
  });

  it("gives the same peer object for the same frame (the recorder caches by it)", () => {
    const decoder = new ExchangePayloadDecoder();
    const a = reader(decoder);
    const b = reader(decoder);
    a.r.read(encodeExchangeFrame(CLIENT));
    b.r.read(encodeExchangeFrame(CLIENT));
    expect(a.settled[0]).toBeDefined();
    expect(b.settled[0]).toBe(a.settled[0]);
    expect(Object.isFrozen(a.settled[0])).toBe(true);
  });

  it("reads the whole node metadata older Istio proxies send", () => {
    const { r, settled } = reader();
    const payload = any(
      "type.googleapis.com/google.protobuf.Struct",
      struct({
        "x-envoy-peer-metadata": {
          NAMESPACE: "shop",
          WORKLOAD_NAME: "orders-v1",
          LABELS: { app: "orders", "app.kubernetes.io/version": "1.2", version: "v1" },
          ISTIO_VERSION: "1.20.0",
          INTERCEPTION_MODE: "REDIRECT",
        },
      }),
    );
    expect(r.read(frame(payload)).length).toBe(0);
    expect(settled[0]).toMatchObject({ workloadName: "orders-v1", app: "orders", version: "1.2" });
  });

  it("passes every byte on, untouched, when the stream does not open with the magic", () => {
    const { r, settled } = reader();
    const bytes = Buffer.from("GET / HTTP/1.1\r\n\r\n");
    expect(r.read(bytes.subarray(0, 3)).length).toBe(0);
    expect(r.read(bytes.subarray(3)).equals(bytes)).toBe(true);
    expect(settled).toEqual([undefined]);
    expect(r.done).toBe(true);
  });

  it("consumes a well-formed frame that names no workload, or not as a Struct", () => {
    for (const payload of [
      any("type.googleapis.com/google.protobuf.Struct", struct({ other: "x" })),
      any("type.googleapis.com/google.protobuf.Struct", struct({ "x-envoy-peer-metadata": "x" })),
      any("type.googleapis.com/google.protobuf.Duration", new Uint8Array([8, 1])),
      new Uint8Array(0),
    ]) {
      const { r, settled } = reader();
      expect(r.read(Buffer.concat([frame(payload), Buffer.from("data")])).toString()).toBe("data");
      expect(settled).toEqual([undefined]);
    }
  });

  it("gives up on a payload that is not an Any, passing it on past the 8-byte header", () => {
    const { r, settled } = reader();
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
    const out = r.read(Buffer.concat([frame(garbage), Buffer.from("data")]));
    expect(out.equals(Buffer.concat([garbage, Buffer.from("data")]))).toBe(true);
    expect(settled).toEqual([undefined]);
  });

  it("passes a short opening on at the end of the stream, but never a partial payload", () => {
    const short = reader();
    expect(short.r.read(Buffer.from([0x3d, 0x23])).length).toBe(0);
    expect([...short.r.end()]).toEqual([0x3d, 0x23]);
    expect(short.settled).toEqual([undefined]);
    const partial = reader();
    const whole = encodeExchangeFrame(CLIENT);
    expect(partial.r.read(whole.subarray(0, 20)).length).toBe(0);
    expect(partial.r.end().length).toBe(0);
    expect(partial.settled).toEqual([undefined]);
    // Once over, the end has nothing left to give.
    expect(partial.r.end().length).toBe(0);
  });

  it("refuses to hold a payload longer than it ever needs, holding nothing of it", () => {
    const { r, settled } = reader();
    const header = frame(new Uint8Array(0), MAX_EXCHANGE_PAYLOAD_BYTES + 1);
    expect(r.read(header).length).toBe(0);
    expect(r.oversized).toBe(true);
    expect(settled).toEqual([undefined]);
    const atLimit = reader();
    atLimit.r.read(frame(new Uint8Array(0), MAX_EXCHANGE_PAYLOAD_BYTES));
    expect(atLimit.r.oversized).toBe(false);
    expect(atLimit.r.done).toBe(false);
  });

  it("settles once, whatever follows", () => {
    const { r, settled } = reader();
    r.read(encodeExchangeFrame(CLIENT));
    r.read(encodeExchangeFrame(CLIENT));
    r.end();
    expect(settled).toHaveLength(1);
  });
});
