import { describe, expect, it } from "vitest";
import { buildProxyNode } from "../bootstrap/node-identity.ts";
import {
  buildPeerMetadataHeaders,
  buildPeerMetadataStruct,
  decodeBaggage,
  decodeEndpointWorkload,
  decodePeerMetadata,
  encodeBaggage,
  encodePeerMetadata,
  PeerMetadataCache,
  peerFromEndpointMetadata,
  skipPeerMetadataExchange,
} from "./peer-metadata.ts";
import { EMPTY_WORKLOAD, localWorkloadFromNode, type WorkloadMetadata } from "./workload-labels.ts";

const REVIEWS: WorkloadMetadata = {
  ...EMPTY_WORKLOAD,
  instanceName: "reviews-v1-7c9f4d6b8d-x2kqz",
  namespace: "default",
  workloadName: "reviews-v1",
  clusterId: "Kubernetes",
  canonicalName: "reviews",
  canonicalRevision: "v1",
  app: "reviews",
  version: "v1",
  workloadType: "deployment",
};

// A protobuf writer independent of protobufjs, to check the bytes against the wire format.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
function lengthDelimited(tag: number, payload: number[]): number[] {
  return [tag, ...varint(payload.length), ...payload];
}
const utf8 = (s: string) => [...Buffer.from(s, "utf8")];
/** google.protobuf.Value with string_value (field 3) or struct_value (field 5). */
function stringValue(s: string): number[] {
  return lengthDelimited(0x1a, utf8(s));
}
/** google.protobuf.Struct: repeated map entries (field 1) of key (1) and Value (2). */
function struct(entries: [string, number[]][]): number[] {
  return entries.flatMap(([key, value]) =>
    lengthDelimited(0x0a, [...lengthDelimited(0x0a, utf8(key)), ...lengthDelimited(0x12, value)]),
  );
}
function structValue(entries: [string, number[]][]): number[] {
  return lengthDelimited(0x2a, struct(entries));
}

describe("x-envoy-peer-metadata", () => {
  it("builds Istio's Struct: node metadata keys, four labels, OWNER", () => {
    expect(buildPeerMetadataStruct({ ...REVIEWS, region: "eu-west", zone: "eu-west-1a" })).toEqual({
      NAME: "reviews-v1-7c9f4d6b8d-x2kqz",
      NAMESPACE: "default",
      WORKLOAD_NAME: "reviews-v1",
      CLUSTER_ID: "Kubernetes",
      LABELS: {
        "service.istio.io/canonical-name": "reviews",
        "service.istio.io/canonical-revision": "v1",
        app: "reviews",
        version: "v1",
      },
      OWNER: "kubernetes://apis/apps/v1/namespaces/default/deployments/reviews-v1",
      REGION: "eu-west",
      AVAILABILITY_ZONE: "eu-west-1a",
    });
    expect(buildPeerMetadataStruct(EMPTY_WORKLOAD)).toEqual({ LABELS: {} });
  });

  it("encodes deterministically: keys sorted, standard padded base64 of the wire bytes", () => {
    const workload = { ...EMPTY_WORKLOAD, namespace: "ns", workloadName: "w", app: "a" };
    const expected = struct([
      ["LABELS", structValue([["app", stringValue("a")]])],
      ["NAMESPACE", stringValue("ns")],
      ["WORKLOAD_NAME", stringValue("w")],
    ]);
    expect(encodePeerMetadata(workload)).toBe(Buffer.from(expected).toString("base64"));
  });

  it("round-trips every field", () => {
    const full: WorkloadMetadata = {
      ...REVIEWS,
      identity: "spiffe://cluster.local/ns/default/sa/reviews",
      region: "r",
      zone: "z",
    };
    expect(decodePeerMetadata(encodePeerMetadata(full))).toEqual(full);
    expect(decodePeerMetadata(encodePeerMetadata(EMPTY_WORKLOAD))).toEqual(EMPTY_WORKLOAD);
  });

  it("reads a Struct written by hand in the wire format, padding or not", () => {
    const bytes = struct([
      ["NAMESPACE", stringValue("shop")],
      ["WORKLOAD_NAME", stringValue("payment-v2")],
      [
        "LABELS",
        structValue([
          ["service.istio.io/canonical-name", stringValue("payment")],
          ["service.istio.io/canonical-revision", stringValue("v2")],
          ["app", stringValue("payment")],
        ]),
      ],
    ]);
    const padded = Buffer.from(bytes).toString("base64");
    const unpadded = padded.replace(/=+$/, "");
    for (const value of [padded, unpadded]) {
      expect(decodePeerMetadata(value)).toMatchObject({
        namespace: "shop",
        workloadName: "payment-v2",
        canonicalName: "payment",
        canonicalRevision: "v2",
        app: "payment",
        version: "",
      });
    }
  });

  it("reads the whole-node Struct older Istio proxies send", () => {
    const bytes = struct([
      ["APP_CONTAINERS", stringValue("productpage")],
      ["CLUSTER_ID", stringValue("Kubernetes")],
      ["INSTANCE_IPS", stringValue("10.244.3.36")],
      ["ISTIO_VERSION", stringValue("1.16.1")],
      [
        "LABELS",
        structValue([
          ["app", stringValue("productpage")],
          ["app.kubernetes.io/name", stringValue("product-page")],
          ["security.istio.io/tlsMode", stringValue("istio")],
          ["service.istio.io/canonical-name", stringValue("productpage")],
          ["service.istio.io/canonical-revision", stringValue("v1")],
          ["version", stringValue("v1")],
        ]),
      ],
      ["MESH_ID", stringValue("cluster.local")],
      ["NAME", stringValue("productpage-v1-6b746f74dc-9stvs")],
      ["NAMESPACE", stringValue("default")],
      [
        "OWNER",
        stringValue("kubernetes://apis/apps/v1/namespaces/default/deployments/productpage-v1"),
      ],
      ["PLATFORM_METADATA", structValue([])],
      ["WORKLOAD_NAME", stringValue("productpage-v1")],
    ]);
    expect(decodePeerMetadata(Buffer.from(bytes).toString("base64"))).toEqual({
      ...EMPTY_WORKLOAD,
      instanceName: "productpage-v1-6b746f74dc-9stvs",
      namespace: "default",
      workloadName: "productpage-v1",
      clusterId: "Kubernetes",
      canonicalName: "productpage",
      canonicalRevision: "v1",
      app: "product-page",
      version: "v1",
      workloadType: "deployment",
    });
  });

  it("gives undefined for values that are not base64 of a Struct", () => {
    expect(decodePeerMetadata("")).toBeUndefined();
    expect(decodePeerMetadata("not base64!")).toBeUndefined();
    expect(decodePeerMetadata(Buffer.from([0x0a, 0x05, 0x0a]).toString("base64"))).toBeUndefined();
  });

  it("builds the header pair of the local proxy from its node", () => {
    const { node } = buildProxyNode({
      flags: {
        podName: "web-frontend-5d8f7c9b4c-q2w4z",
        namespace: "shop",
        ip: "127.0.10.9",
        labels: ["app=web-frontend"],
      },
    });
    const headers = buildPeerMetadataHeaders(localWorkloadFromNode(node));
    expect(headers.id).toBe(
      "sidecar~127.0.10.9~web-frontend-5d8f7c9b4c-q2w4z.shop~shop.svc.cluster.local",
    );
    expect(decodePeerMetadata(headers.value)).toEqual({
      ...EMPTY_WORKLOAD,
      instanceName: "web-frontend-5d8f7c9b4c-q2w4z",
      namespace: "shop",
      workloadName: "web-frontend",
      clusterId: "Kubernetes",
      canonicalName: "web-frontend",
      canonicalRevision: "latest",
      app: "web-frontend",
    });
  });
});

describe("PeerMetadataCache", () => {
  it("decodes a value once and returns the same object after", () => {
    const cache = new PeerMetadataCache();
    const value = encodePeerMetadata(REVIEWS);
    const first = cache.decode(value);
    expect(first).toEqual(REVIEWS);
    expect(cache.decode(`${value}`)).toBe(first);
    expect(cache.decode(undefined)).toBeUndefined();
    expect(cache.decode("%%%")).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it("drops its oldest quarter when full", () => {
    const cache = new PeerMetadataCache(8);
    const values = Array.from({ length: 9 }, (_, i) =>
      encodePeerMetadata({ ...REVIEWS, instanceName: `pod-${i}` }),
    );
    const firsts = values.map((v) => cache.decode(v));
    expect(cache.size).toBe(7);
    expect(cache.decode(values[8])).toBe(firsts[8]);
    expect(cache.decode(values[0])).not.toBe(firsts[0]);
  });
});

describe("skipPeerMetadataExchange", () => {
  it("follows skip_external_clusters and disable_mx", () => {
    expect(skipPeerMetadataExchange({ name: "PassthroughCluster" }, true)).toBe(true);
    expect(skipPeerMetadataExchange({ name: "PassthroughCluster" }, false)).toBe(false);
    const external = {
      name: "outbound|443||api.stripe.com",
      metadata: { istio: { external: true } },
    };
    expect(skipPeerMetadataExchange(external, true)).toBe(true);
    expect(skipPeerMetadataExchange(external, false)).toBe(false);
    const disabled = { name: "outbound|80||x", metadata: { istio: { disable_mx: true } } };
    expect(skipPeerMetadataExchange(disabled, false)).toBe(true);
    expect(skipPeerMetadataExchange(undefined, true)).toBe(false);
  });
});

describe("endpoint metadata", () => {
  it("reads istio.workload: name;namespace;canonical service;revision;cluster", () => {
    expect(
      peerFromEndpointMetadata({ istio: { workload: "ratings-v1;shop;ratings;;east" } }),
    ).toEqual({
      ...EMPTY_WORKLOAD,
      workloadName: "ratings-v1",
      namespace: "shop",
      canonicalName: "ratings",
      clusterId: "east",
    });
    expect(decodeEndpointWorkload("a;b;c;d")).toBeUndefined();
    expect(peerFromEndpointMetadata({ istio: { workload: 3 } })).toBeUndefined();
    expect(peerFromEndpointMetadata(undefined)).toBeUndefined();
  });
});

describe("baggage", () => {
  it("encodes as Istio's baggage(): app fields only where they differ", () => {
    expect(encodeBaggage({ ...REVIEWS, region: "eu", zone: "eu-1" })).toBe(
      "k8s.deployment.name=reviews-v1,service.name=reviews,service.version=v1," +
        "k8s.namespace.name=default,k8s.cluster.name=Kubernetes," +
        "k8s.instance.name=reviews-v1-7c9f4d6b8d-x2kqz,cloud.region=eu,cloud.availability_zone=eu-1",
    );
    expect(
      encodeBaggage({ ...EMPTY_WORKLOAD, workloadName: "w", canonicalName: "c", app: "a" }),
    ).toBe("k8s.pod.name=w,service.name=c,app.name=a");
  });

  it("decodes with service and app standing in for each other", () => {
    expect(decodeBaggage(encodeBaggage(REVIEWS))).toEqual(REVIEWS);
    expect(decodeBaggage("k8s.job.name=nightly, app.name=batch,app.version=3,ignored=x")).toEqual({
      ...EMPTY_WORKLOAD,
      workloadName: "nightly",
      workloadType: "job",
      app: "batch",
      canonicalName: "batch",
      version: "3",
      canonicalRevision: "3",
    });
  });
});
