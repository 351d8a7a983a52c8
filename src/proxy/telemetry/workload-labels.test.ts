import { describe, expect, it } from "vitest";
import { buildProxyNode } from "../bootstrap/node-identity.ts";
import { PEER_LABELS } from "./metric-definitions.ts";
import { decodeEndpointWorkload } from "./peer-metadata.ts";
import { connectionSecurityPolicy, type PeerContext, peerLabelValues } from "./request-metrics.ts";
import {
  type ClusterLike,
  canonicalService,
  DestinationServiceCache,
  EMPTY_WORKLOAD,
  type LocalWorkload,
  localWorkloadFromNode,
  namespaceFromPrincipal,
  ownerOf,
  resolveDestinationService,
  type WorkloadMetadata,
  workloadFromNodeMetadata,
  workloadTypeFromOwner,
} from "./workload-labels.ts";

function local(labels: string[], extra: { meta?: string[]; pod?: string; sa?: string } = {}) {
  const { node } = buildProxyNode({
    flags: {
      podName: extra.pod ?? "reviews-v1-7c9f4d6b8d-x2kqz",
      namespace: "default",
      ip: "10.0.0.7",
      serviceAccount: extra.sa ?? "bookinfo-reviews",
      labels,
      meta: extra.meta ?? [],
    },
  });
  return localWorkloadFromNode(node);
}

const PRODUCTPAGE: WorkloadMetadata = {
  ...EMPTY_WORKLOAD,
  instanceName: "productpage-v1-5f9d8c7b6-abcde",
  namespace: "default",
  workloadName: "productpage-v1",
  clusterId: "Kubernetes",
  canonicalName: "productpage",
  canonicalRevision: "v1",
  app: "productpage",
  version: "v1",
};

const REVIEWS_INBOUND: ClusterLike = {
  name: "inbound|9080||",
  metadata: {
    istio: {
      services: [
        { host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" },
      ],
    },
  },
};

const RATINGS_OUTBOUND: ClusterLike = {
  name: "outbound|9080||ratings.shop.svc.cluster.local",
  metadata: {
    istio: {
      services: [{ host: "ratings.shop.svc.cluster.local", name: "ratings", namespace: "shop" }],
    },
  },
};

const SPIFFE_PP = "spiffe://cluster.local/ns/frontend/sa/bookinfo-productpage";
const SPIFFE_REVIEWS = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews";

function labelsOf(me: LocalWorkload, ctx: PeerContext): Record<string, string> {
  const values = peerLabelValues(me, ctx);
  expect(values).toHaveLength(PEER_LABELS.length);
  return {
    ...Object.fromEntries(PEER_LABELS.map((name, i) => [name, values[i]!])),
    connection_security_policy: connectionSecurityPolicy(ctx),
  };
}

interface Case {
  name: string;
  local: LocalWorkload;
  ctx: PeerContext;
  expect: Record<string, string>;
}

const plainReviews = local(["app=reviews", "version=v1"]);

const CASES: Case[] = [
  {
    name: "destination: canonical service from service.istio.io/canonical-name",
    local: local([
      "app=reviews",
      "service.istio.io/canonical-name=reviews-canon",
      "service.istio.io/canonical-revision=r7",
    ]),
    ctx: { reporter: "destination", destinationService: resolveDestinationService({}) },
    expect: {
      destination_canonical_service: "reviews-canon",
      destination_canonical_revision: "r7",
      destination_app: "reviews",
      destination_version: "",
    },
  },
  {
    name: "destination: canonical service from app.kubernetes.io/name over app",
    local: local(["app=reviews", "app.kubernetes.io/name=reviews-k8s"]),
    ctx: { reporter: "destination", destinationService: resolveDestinationService({}) },
    expect: { destination_canonical_service: "reviews-k8s", destination_app: "reviews" },
  },
  {
    name: "destination: canonical service from app",
    local: local(["app=reviews"]),
    ctx: { reporter: "destination", destinationService: resolveDestinationService({}) },
    expect: { destination_canonical_service: "reviews", destination_canonical_revision: "latest" },
  },
  {
    name: "destination: canonical service from the workload name when no label says",
    local: local([]),
    ctx: { reporter: "destination", destinationService: resolveDestinationService({}) },
    expect: {
      destination_workload: "reviews-v1",
      destination_canonical_service: "reviews-v1",
      destination_app: "",
      destination_version: "",
    },
  },
  {
    name: "source: revision from app.kubernetes.io/version over version",
    local: local(["app=reviews", "version=v1", "app.kubernetes.io/version=1.4.2"]),
    ctx: { reporter: "source", destinationService: resolveDestinationService({}) },
    expect: {
      source_canonical_service: "reviews",
      source_canonical_revision: "1.4.2",
      source_version: "v1",
    },
  },
  {
    name: "source: revision from version",
    local: plainReviews,
    ctx: { reporter: "source", destinationService: resolveDestinationService({}) },
    expect: { source_canonical_revision: "v1", source_workload: "reviews-v1" },
  },
  {
    name: "source: the workload name from WORKLOAD_NAME metadata (StatefulSet pods)",
    local: local(["app=db"], { pod: "db-0", meta: ["WORKLOAD_NAME=db", "CLUSTER_ID=east"] }),
    ctx: { reporter: "source", destinationService: resolveDestinationService({}) },
    expect: { source_workload: "db", source_cluster: "east", source_canonical_service: "db" },
  },
  {
    name: "destination without peer metadata: unknown, revision latest",
    local: plainReviews,
    ctx: { reporter: "destination", destinationService: resolveDestinationService({}) },
    expect: {
      reporter: "destination",
      source_workload: "unknown",
      source_canonical_service: "unknown",
      source_canonical_revision: "latest",
      source_workload_namespace: "unknown",
      source_principal: "unknown",
      source_app: "unknown",
      source_version: "unknown",
      source_cluster: "unknown",
      destination_principal: "unknown",
      destination_service: "reviews",
      destination_service_name: "reviews",
      destination_service_namespace: "default",
      destination_cluster: "Kubernetes",
      connection_security_policy: "none",
    },
  },
  {
    name: "source without peer: every destination label unknown, revision latest",
    local: plainReviews,
    ctx: { reporter: "source", destinationService: resolveDestinationService({}) },
    expect: {
      destination_workload: "unknown",
      destination_workload_namespace: "unknown",
      destination_principal: "unknown",
      destination_app: "unknown",
      destination_version: "unknown",
      destination_service: "unknown",
      destination_canonical_service: "unknown",
      destination_canonical_revision: "latest",
      destination_service_name: "unknown",
      destination_service_namespace: "unknown",
      destination_cluster: "unknown",
      connection_security_policy: "unknown",
    },
  },
  {
    name: "destination over mTLS: principals from the certificates, namespace from the peer's",
    local: plainReviews,
    ctx: {
      reporter: "destination",
      peer: PRODUCTPAGE,
      peerPrincipal: SPIFFE_PP,
      localPrincipal: SPIFFE_REVIEWS,
      destinationService: resolveDestinationService({ cluster: REVIEWS_INBOUND }),
    },
    expect: {
      source_workload: "productpage-v1",
      source_workload_namespace: "frontend",
      source_principal: SPIFFE_PP,
      destination_principal: SPIFFE_REVIEWS,
      connection_security_policy: "mutual_tls",
    },
  },
  {
    name: "destination with only one certificate: none",
    local: plainReviews,
    ctx: {
      reporter: "destination",
      peer: PRODUCTPAGE,
      localPrincipal: SPIFFE_REVIEWS,
      destinationService: resolveDestinationService({ cluster: REVIEWS_INBOUND }),
    },
    expect: {
      source_workload_namespace: "default",
      source_principal: "unknown",
      destination_principal: SPIFFE_REVIEWS,
      connection_security_policy: "none",
    },
  },
  {
    name: "source over mTLS: own principal as source, peer's as destination; policy unknown",
    local: plainReviews,
    ctx: {
      reporter: "source",
      peer: { ...PRODUCTPAGE, namespace: "ignored" },
      peerPrincipal: SPIFFE_PP,
      localPrincipal: SPIFFE_REVIEWS,
      destinationService: resolveDestinationService({ cluster: RATINGS_OUTBOUND }),
    },
    expect: {
      source_principal: SPIFFE_REVIEWS,
      destination_principal: SPIFFE_PP,
      destination_workload_namespace: "frontend",
      destination_service_namespace: "shop",
      connection_security_policy: "unknown",
    },
  },
  {
    name: "source: the peer's stated IDENTITY stands in for a missing certificate",
    local: plainReviews,
    ctx: {
      reporter: "source",
      peer: { ...PRODUCTPAGE, identity: SPIFFE_PP },
      destinationService: resolveDestinationService({ host: "productpage:9080" }),
    },
    expect: { destination_principal: SPIFFE_PP, destination_workload_namespace: "frontend" },
  },
  {
    name: "outbound cluster with istio.services metadata names the service",
    local: plainReviews,
    ctx: {
      reporter: "source",
      peer: PRODUCTPAGE,
      destinationService: resolveDestinationService({
        cluster: RATINGS_OUTBOUND,
        host: "ratings:9080",
      }),
    },
    expect: {
      destination_service: "ratings.shop.svc.cluster.local",
      destination_service_name: "ratings",
      destination_service_namespace: "shop",
      destination_workload: "productpage-v1",
      destination_canonical_service: "productpage",
      destination_canonical_revision: "v1",
      destination_cluster: "Kubernetes",
    },
  },
  {
    name: "outbound cluster without metadata: crema reads the host from the cluster name",
    local: plainReviews,
    ctx: {
      reporter: "source",
      destinationService: resolveDestinationService({
        cluster: { name: "outbound|9080|v2|ratings.shop.svc.cluster.local" },
        host: "ratings:9080",
      }),
    },
    expect: {
      destination_service: "ratings.shop.svc.cluster.local",
      destination_service_name: "ratings",
      destination_service_namespace: "shop",
    },
  },
  {
    name: "source: without a service namespace the peer's namespace is used",
    local: plainReviews,
    ctx: {
      reporter: "source",
      peer: PRODUCTPAGE,
      destinationService: resolveDestinationService({
        cluster: { name: "outbound|443||api.payments.example", metadata: {} },
      }),
    },
    expect: {
      destination_service: "api.payments.example",
      destination_service_name: "api",
      destination_service_namespace: "default",
    },
  },
  {
    name: "ServiceEntry cluster: the metadata names the service by its host",
    local: plainReviews,
    ctx: {
      reporter: "source",
      destinationService: resolveDestinationService({
        cluster: {
          name: "outbound|443||api.stripe.com",
          metadata: {
            istio: {
              services: [{ host: "api.stripe.com", name: "api.stripe.com", namespace: "shop" }],
            },
          },
        },
      }),
    },
    expect: {
      destination_service: "api.stripe.com",
      destination_service_name: "api.stripe.com",
      destination_service_namespace: "shop",
    },
  },
  {
    name: "inbound cluster at the destination: service from metadata, namespace is local",
    local: plainReviews,
    ctx: {
      reporter: "destination",
      peer: PRODUCTPAGE,
      destinationService: resolveDestinationService({
        cluster: {
          name: "inbound|9080||",
          metadata: {
            istio: { services: [{ host: "reviews.other.svc.cluster.local", namespace: "other" }] },
          },
        },
        host: "reviews:9080",
      }),
    },
    expect: {
      destination_service: "reviews.other.svc.cluster.local",
      destination_service_name: "reviews",
      destination_service_namespace: "default",
      destination_workload_namespace: "default",
    },
  },
  {
    name: "inbound cluster without metadata: the Host header names the service",
    local: plainReviews,
    ctx: {
      reporter: "destination",
      destinationService: resolveDestinationService({
        cluster: { name: "inbound|9080||" },
        host: "reviews:9080",
      }),
    },
    expect: { destination_service: "reviews:9080", destination_service_name: "reviews:9080" },
  },
  {
    name: "PassthroughCluster: the host stays, the name is the cluster's",
    local: plainReviews,
    ctx: {
      reporter: "source",
      destinationService: resolveDestinationService({
        cluster: { name: "PassthroughCluster" },
        host: "example.org",
      }),
    },
    expect: { destination_service: "example.org", destination_service_name: "PassthroughCluster" },
  },
  {
    name: "the block_all route: BlackHoleCluster",
    local: plainReviews,
    ctx: {
      reporter: "source",
      destinationService: resolveDestinationService({
        cluster: { name: "BlackHoleCluster" },
        routeName: "block_all",
        host: "blocked.example",
      }),
    },
    expect: {
      destination_service: "blocked.example",
      destination_service_name: "BlackHoleCluster",
    },
  },
  {
    name: "InboundPassthroughCluster at the destination, TCP: local canonical service",
    local: plainReviews,
    ctx: {
      reporter: "destination",
      destinationService: resolveDestinationService({
        cluster: { name: "InboundPassthroughCluster" },
      }),
    },
    expect: {
      destination_service: "reviews",
      destination_service_name: "InboundPassthroughCluster",
    },
  },
  {
    name: "source: endpoint metadata describes a destination without a sidecar answer",
    local: plainReviews,
    ctx: {
      reporter: "source",
      peer: decodeEndpointWorkload("ratings-v1;shop;ratings;v1;Kubernetes"),
      destinationService: resolveDestinationService({ cluster: RATINGS_OUTBOUND }),
    },
    expect: {
      destination_workload: "ratings-v1",
      destination_workload_namespace: "shop",
      destination_canonical_service: "ratings",
      destination_canonical_revision: "v1",
      destination_app: "unknown",
      destination_version: "unknown",
      destination_cluster: "Kubernetes",
    },
  },
];

describe("label derivation", () => {
  it("has a case table of at least 15 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(15);
  });

  for (const c of CASES) {
    it(c.name, () => {
      expect(labelsOf(c.local, c.ctx)).toMatchObject(c.expect);
    });
  }

  it("fills a whole destination-reported label set in Istio's order", () => {
    expect(
      peerLabelValues(plainReviews, {
        reporter: "destination",
        peer: PRODUCTPAGE,
        destinationService: resolveDestinationService({ cluster: REVIEWS_INBOUND }),
      }),
    ).toEqual([
      "destination",
      "productpage-v1",
      "productpage",
      "v1",
      "default",
      "unknown",
      "productpage",
      "v1",
      "Kubernetes",
      "reviews-v1",
      "default",
      "unknown",
      "reviews",
      "v1",
      "reviews.default.svc.cluster.local",
      "reviews",
      "v1",
      "reviews",
      "default",
      "Kubernetes",
    ]);
  });
});

describe("localWorkloadFromNode", () => {
  it("reads the node crema builds, with the injector's canonical labels added", () => {
    const me = local(["app=reviews", "version=v1", "topology.kubernetes.io/region=eu"], {
      meta: ["OWNER=kubernetes://apis/apps/v1/namespaces/default/deployments/reviews-v1"],
    });
    expect(me.nodeId).toBe(
      "sidecar~10.0.0.7~reviews-v1-7c9f4d6b8d-x2kqz.default~default.svc.cluster.local",
    );
    expect(me.principal).toBe("spiffe://cluster.local/ns/default/sa/bookinfo-reviews");
    expect(me.labels).toEqual({
      workload: "reviews-v1",
      namespace: "default",
      canonicalService: "reviews",
      canonicalRevision: "v1",
      app: "reviews",
      version: "v1",
      cluster: "Kubernetes",
    });
    expect(me.metadata).toEqual({
      instanceName: "reviews-v1-7c9f4d6b8d-x2kqz",
      namespace: "default",
      workloadName: "reviews-v1",
      clusterId: "Kubernetes",
      canonicalName: "reviews",
      canonicalRevision: "v1",
      app: "reviews",
      version: "v1",
      workloadType: "deployment",
      identity: "",
      region: "eu",
      zone: "",
    });
  });

  it("takes the trust domain for the principal", () => {
    const { node } = buildProxyNode({
      flags: { podName: "a", namespace: "ns", ip: "10.0.0.1", serviceAccount: "sa" },
    });
    expect(localWorkloadFromNode(node, { trustDomain: "corp.example" }).principal).toBe(
      "spiffe://corp.example/ns/ns/sa/sa",
    );
  });
});

describe("helpers", () => {
  it("canonicalService follows Istio's fallbacks", () => {
    expect(canonicalService({}, "w")).toEqual({ name: "w", revision: "latest" });
    expect(canonicalService({ app: "a", version: "v" }, "w")).toEqual({ name: "a", revision: "v" });
    expect(canonicalService({ app: "", version: "" }, "w")).toEqual({ name: "", revision: "" });
  });

  it("workloadTypeFromOwner and ownerOf are inverse for the four kinds", () => {
    for (const type of ["pod", "deployment", "job", "cronjob"] as const) {
      const owner = ownerOf({
        ...EMPTY_WORKLOAD,
        namespace: "ns",
        workloadName: "w",
        workloadType: type,
      });
      expect(owner).toBe(`kubernetes://apis/apps/v1/namespaces/ns/${type}s/w`);
      expect(workloadTypeFromOwner(owner, "w")).toBe(type);
    }
    expect(
      workloadTypeFromOwner("kubernetes://apis/apps/v1/namespaces/ns/statefulsets/w", "w"),
    ).toBe("");
    expect(ownerOf(EMPTY_WORKLOAD)).toBe("");
  });

  it("namespaceFromPrincipal reads /ns/<namespace>/", () => {
    expect(namespaceFromPrincipal(SPIFFE_PP)).toBe("frontend");
    expect(namespaceFromPrincipal("spiffe://td/ns/last")).toBe("last");
    expect(namespaceFromPrincipal("spiffe://td/sa/x")).toBe("");
  });

  it("workloadFromNodeMetadata prefers the app.kubernetes.io labels for app and version", () => {
    const w = workloadFromNodeMetadata({
      LABELS: {
        app: "a",
        version: "1",
        "app.kubernetes.io/name": "qualified",
        "app.kubernetes.io/version": "2",
      },
    });
    expect([w.app, w.version]).toEqual(["qualified", "2"]);
  });
});

describe("DestinationServiceCache", () => {
  it("returns one object per cluster when the answer does not depend on the Host", () => {
    const cache = new DestinationServiceCache();
    const a = cache.resolve(RATINGS_OUTBOUND, "", "ratings:9080");
    expect(cache.resolve(RATINGS_OUTBOUND, "", "other:80")).toBe(a);
    expect(a.host).toBe("ratings.shop.svc.cluster.local");
  });

  it("keys Host-dependent answers by Host", () => {
    const cache = new DestinationServiceCache();
    const passthrough = { name: "PassthroughCluster" };
    const a = cache.resolve(passthrough, "", "");
    const b = cache.resolve(passthrough, "", "example.org");
    expect(a.host).toBe("");
    expect(b.host).toBe("example.org");
    expect(cache.resolve(passthrough, "", "example.org")).toBe(b);
    expect(cache.resolve(passthrough, "allow_any", "example.org").name).toBe("PassthroughCluster");
  });

  it("resolves afresh for a new version of a cluster", () => {
    const cache = new DestinationServiceCache();
    const v1 = cache.resolve({ name: "outbound|80||a.ns.svc.cluster.local" });
    const v2 = cache.resolve({ name: "outbound|80||a.ns.svc.cluster.local" });
    expect(v2).not.toBe(v1);
    expect(v2).toEqual(v1);
  });
});
