// Upstream TLS of outbound clusters, as istiod's cluster_tls.go builds it: DestinationRule tls
// modes, auto-mTLS and the endpoints it marks, behind meshConfig.workloadCertificates.
import { describe, expect, it } from "vitest";
import type { Json, JsonObject } from "../../xds/proto-json.ts";
import type { MeshConfig } from "../model/mesh-config.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { buildOutboundClusters } from "./clusters.ts";
import {
  at,
  destinationRuleYaml,
  expectEncodable,
  podYaml,
  proxyNode,
  REVIEWS,
  REVIEWS_SERVICE,
} from "./clusters-testing.ts";
import { buildClusterLoadAssignment } from "./endpoints.ts";

const ON: Partial<MeshConfig> = { workloadCertificates: true };
const OFF: Partial<MeshConfig> = { workloadCertificates: false };
const HTTP = `outbound|9080||${REVIEWS}`;
const GRPC = `outbound|9090||${REVIEWS}`;

/** reviews with two pods (service accounts reviews-v1 and default), both with sidecars. */
const MESH =
  REVIEWS_SERVICE +
  podYaml("reviews-1", "10.1.0.1", { labels: "app: reviews, version: v1" }).replace(
    "spec:\n",
    "spec:\n  serviceAccountName: reviews-v1\n",
  ) +
  podYaml("reviews-2", "10.1.0.2", { labels: "app: reviews, version: v2" });

const SDS_GRPC = {
  api_config_source: {
    api_type: "GRPC",
    grpc_services: [{ envoy_grpc: { cluster_name: "sds-grpc" } }],
    set_node_on_first_message_only: true,
    transport_api_version: "V3",
  },
  initial_fetch_timeout: "0s",
  resource_api_version: "V3",
};

/** SDS for other resources than default/ROOTCA: no initial_fetch_timeout. */
const { initial_fetch_timeout: _, ...SDS_GRPC_WAITING } = SDS_GRPC;

function clustersOf(yaml: string, mesh: Partial<MeshConfig> = ON, proxy = proxyNode()) {
  const clusters = buildOutboundClusters(snapshotFromYaml(yaml, mesh), proxy);
  expectEncodable(clusters.values());
  return clusters;
}

function cluster(yaml: string, name: string, mesh?: Partial<MeshConfig>, proxy = proxyNode()) {
  const found = clustersOf(yaml, mesh, proxy).get(name);
  expect(found, name).toBeDefined();
  return found as JsonObject;
}

const context = (c: JsonObject, path = "transport_socket") =>
  at(c, `${path}.typed_config`) as JsonObject | undefined;

describe("auto-mTLS", () => {
  it("sends Istio mTLS to endpoints marked tlsMode istio and plaintext to the rest", () => {
    const c = cluster(MESH, HTTP);
    expect(c.transport_socket).toBeUndefined();
    const matches = c.transport_socket_matches as JsonObject[];
    expect(matches.map((m) => [m.name, m.match])).toEqual([
      ["tlsMode-istio", { tlsMode: "istio" }],
      ["tlsMode-disabled", {}],
    ]);
    expect(matches[1]!.transport_socket).toEqual({
      name: "envoy.transport_sockets.raw_buffer",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer",
      },
    });
    expect(at(matches[0], "transport_socket.name")).toBe("envoy.transport_sockets.tls");
    expect(context(matches[0]!)).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
      common_tls_context: {
        tls_params: {
          tls_minimum_protocol_version: "TLSv1_2",
          tls_maximum_protocol_version: "TLSv1_3",
        },
        alpn_protocols: ["istio-peer-exchange", "istio"],
        tls_certificate_sds_secret_configs: [{ name: "default", sds_config: SDS_GRPC }],
        combined_validation_context: {
          default_validation_context: {
            match_subject_alt_names: [
              { exact: "spiffe://cluster.local/ns/default/sa/default" },
              { exact: "spiffe://cluster.local/ns/default/sa/reviews-v1" },
            ],
          },
          validation_context_sds_secret_config: { name: "ROOTCA", sds_config: SDS_GRPC },
        },
      },
      sni: `outbound_.9080_._.${REVIEWS}`,
    });
  });

  it("announces h2 to HTTP/2 clusters and names the subset in the SNI", () => {
    const subsets = destinationRuleYaml(`host: reviews
subsets:
- name: v1
  labels: {version: v1}`);
    const grpc = cluster(MESH, GRPC);
    expect(
      at(
        grpc,
        "transport_socket_matches[0].transport_socket.typed_config.common_tls_context.alpn_protocols",
      ),
    ).toEqual(["istio-peer-exchange", "istio", "h2"]);
    const v1 = cluster(MESH + subsets, `outbound|9080|v1|${REVIEWS}`);
    expect(at(v1, "transport_socket_matches[0].transport_socket.typed_config.sni")).toBe(
      `outbound_.9080_.v1_.${REVIEWS}`,
    );
  });

  it("is off with meshConfig.enableAutoMtls false, and for MESH_EXTERNAL services", () => {
    expect(
      cluster(MESH, HTTP, { ...ON, enableAutoMtls: false }).transport_socket_matches,
    ).toBeUndefined();
    const external = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 80, name: http, protocol: HTTP}]
`;
    const c = cluster(external, "outbound|80||api.example.com");
    expect(c.transport_socket ?? c.transport_socket_matches).toBeUndefined();
  });

  it("follows the destination namespace's PeerAuthentication: none for DISABLE", () => {
    const pa = (mode: string, ns = "default") =>
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: ${ns}}
spec: {mtls: {mode: ${mode}}}
---
`;
    expect(cluster(MESH + pa("DISABLE"), HTTP).transport_socket_matches).toBeUndefined();
    expect(
      cluster(MESH + pa("DISABLE", "istio-system"), HTTP).transport_socket_matches,
    ).toBeUndefined();
    expect(cluster(MESH + pa("STRICT"), HTTP).transport_socket_matches).toHaveLength(2);
    // The namespace beats the mesh.
    const both = pa("DISABLE", "istio-system") + pa("PERMISSIVE");
    expect(cluster(MESH + both, HTTP).transport_socket_matches).toHaveLength(2);
  });

  it("gives headless services one socket when every endpoint has a sidecar, none otherwise", () => {
    const headless = `apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: tcp, port: 9080}]
---
`;
    const db = "outbound|9080||db.default.svc.cluster.local";
    const sidecars = podYaml("db-1", "10.1.1.1", { labels: "app: db" });
    const c = cluster(headless + sidecars, db);
    expect(c.type).toBe("ORIGINAL_DST");
    expect(c.transport_socket_matches).toBeUndefined();
    expect(at(c, "transport_socket.typed_config.sni")).toBe(
      "outbound_.9080_._.db.default.svc.cluster.local",
    );
    const plain = podYaml("db-2", "10.1.1.2", { labels: "app: db" }).replace(
      /\n {2}annotations:[^\n]*/,
      "\n  annotations: {sidecar.istio.io/inject: 'false'}",
    );
    expect(cluster(headless + sidecars + plain, db).transport_socket).toBeUndefined();
  });

  it("changes nothing while proxies have no workload certificates", () => {
    const istioMutual = destinationRuleYaml(
      "host: reviews\ntrafficPolicy: {tls: {mode: ISTIO_MUTUAL}}",
    );
    for (const c of clustersOf(MESH + istioMutual, OFF).values()) {
      expect(c.transport_socket, String(c.name)).toBeUndefined();
      expect(c.transport_socket_matches, String(c.name)).toBeUndefined();
    }
  });
});

describe("DestinationRule tls", () => {
  const rule = (tls: string, extra = "") =>
    destinationRuleYaml(`host: reviews\n${extra}trafficPolicy:\n  tls: ${tls}`);

  it("DISABLE: plaintext, no auto-mTLS", () => {
    const c = cluster(MESH + rule("{mode: DISABLE}"), HTTP);
    expect(c.transport_socket ?? c.transport_socket_matches).toBeUndefined();
  });

  it("ISTIO_MUTUAL: one socket for every endpoint, the DR's SNI and SANs when it sets them", () => {
    const plain = cluster(MESH + rule("{mode: ISTIO_MUTUAL}"), HTTP);
    expect(plain.transport_socket_matches).toBeUndefined();
    expect(at(plain, "transport_socket.typed_config.sni")).toBe(`outbound_.9080_._.${REVIEWS}`);
    const own = cluster(
      MESH +
        rule(
          "{mode: ISTIO_MUTUAL, sni: reviews.internal, subjectAltNames: [spiffe://td/ns/x/sa/y]}",
        ),
      HTTP,
    );
    expect(at(own, "transport_socket.typed_config.sni")).toBe("reviews.internal");
    expect(
      at(
        own,
        "transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context",
      ),
    ).toEqual({ match_subject_alt_names: [{ exact: "spiffe://td/ns/x/sa/y" }] });
  });

  it("SIMPLE without SNI: the system roots, auto_sni and auto_san_validation", () => {
    const c = cluster(MESH + rule("{mode: SIMPLE}"), HTTP);
    expect(context(c)).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
      common_tls_context: {
        tls_params: {
          tls_minimum_protocol_version: "TLSv1_2",
          tls_maximum_protocol_version: "TLSv1_3",
        },
        combined_validation_context: {
          default_validation_context: {},
          validation_context_sds_secret_config: {
            name: "file-root:system",
            sds_config: SDS_GRPC_WAITING,
          },
        },
      },
    });
    const http = (c.typed_extension_protocol_options as Record<string, Json>)[
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ];
    expect(at(http, "upstream_http_protocol_options")).toEqual({
      auto_sni: true,
      auto_san_validation: true,
    });
    expect(at(c, "metadata.filter_metadata.istio.alpn_override")).toBe("false");
  });

  it("SIMPLE with SNI, SANs and a CA file; h2 ALPN for HTTP/2 clusters", () => {
    const c = cluster(
      MESH +
        rule(
          "{mode: SIMPLE, sni: reviews.example.com, subjectAltNames: [reviews.example.com], caCertificates: /etc/ca.pem}",
        ),
      GRPC,
    );
    const tls = context(c)!;
    expect(tls.sni).toBe("reviews.example.com");
    expect(at(tls, "common_tls_context.alpn_protocols")).toEqual(["h2"]);
    expect(
      at(
        tls,
        "common_tls_context.combined_validation_context.validation_context_sds_secret_config.name",
      ),
    ).toBe("file-root:/etc/ca.pem");
    const http = (c.typed_extension_protocol_options as Record<string, JsonObject>)[
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ]!;
    expect(http.upstream_http_protocol_options).toBeUndefined();
  });

  it("MUTUAL from files: file-cert and file-root SDS resources; insecureSkipVerify drops validation", () => {
    const files =
      "{mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem}";
    const tls = context(cluster(MESH + rule(files), HTTP))!;
    expect(at(tls, "common_tls_context.tls_certificate_sds_secret_configs[0].name")).toBe(
      "file-cert:/c.pem~/k.pem",
    );
    expect(
      at(
        tls,
        "common_tls_context.tls_certificate_sds_secret_configs[0].sds_config.initial_fetch_timeout",
      ),
    ).toBeUndefined();
    const skip = context(cluster(MESH + rule("{mode: SIMPLE, insecureSkipVerify: true}"), HTTP))!;
    expect(skip.common_tls_context).toEqual({
      tls_params: {
        tls_minimum_protocol_version: "TLSv1_2",
        tls_maximum_protocol_version: "TLSv1_3",
      },
      validation_context: {},
    });
  });

  it("credentialName: a secret over ADS for gateways, for sidecars only from a rule selecting them", () => {
    const tls = "{mode: MUTUAL, credentialName: reviews-client}";
    const router = proxyNode({ kind: "router", labels: { istio: "egressgateway" } });
    const viaGateway = context(cluster(MESH + rule(tls), HTTP, ON, router))!;
    expect(at(viaGateway, "common_tls_context.tls_certificate_sds_secret_configs")).toEqual([
      { name: "kubernetes://reviews-client", sds_config: { ads: {}, resource_api_version: "V3" } },
    ]);
    expect(
      at(
        viaGateway,
        "common_tls_context.combined_validation_context.validation_context_sds_secret_config.name",
      ),
    ).toBe("kubernetes://reviews-client-cacert");
    const sidecar = cluster(MESH + rule(tls), HTTP);
    expect(sidecar.transport_socket ?? sidecar.transport_socket_matches).toBeUndefined();
    const selecting = rule(tls, "workloadSelector: {matchLabels: {app: client}}\n");
    expect(context(cluster(MESH + selecting, HTTP))).toBeDefined();
  });

  it("verifies ServiceEntry hosts against their subjectAltNames by default", () => {
    const entry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  subjectAltNames: [api.example.com]
  ports: [{number: 443, name: https, protocol: HTTPS}]
---
`;
    const dr = destinationRuleYaml(
      "host: api.example.com\ntrafficPolicy: {tls: {mode: SIMPLE}}",
      "api",
    );
    const c = cluster(entry + dr, "outbound|443||api.example.com");
    expect(
      at(
        c,
        "transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context",
      ),
    ).toEqual({ match_subject_alt_names: [{ exact: "api.example.com" }] });
  });
});

describe("endpoint mTLS marks", () => {
  const marks = (yaml: string, cluster: string, mesh: Partial<MeshConfig> = ON) => {
    const cla = buildClusterLoadAssignment(snapshotFromYaml(yaml, mesh), proxyNode(), cluster);
    return ((cla.endpoints as JsonObject[]) ?? []).flatMap((group) =>
      (group.lb_endpoints as JsonObject[]).map(
        (e) =>
          (at(e, "metadata.filter_metadata") as JsonObject)["envoy.transport_socket_match"] ?? null,
      ),
    );
  };
  const workloadPa = (port: number, mode: string) =>
    `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews, namespace: default}
spec:
  selector: {matchLabels: {version: v1}}
  portLevelMtls: {${port}: {mode: ${mode}}}
---
`;

  it("marks sidecar endpoints, but not those whose PeerAuthentication disables mTLS on the port", () => {
    expect(marks(MESH, HTTP)).toEqual([{ tlsMode: "istio" }, { tlsMode: "istio" }]);
    expect(marks(MESH + workloadPa(9080, "DISABLE"), HTTP)).toEqual([null, { tlsMode: "istio" }]);
    expect(marks(MESH + workloadPa(9080, "STRICT"), HTTP)).toEqual([
      { tlsMode: "istio" },
      { tlsMode: "istio" },
    ]);
  });

  it("ignores PeerAuthentication while proxies have no workload certificates", () => {
    expect(marks(MESH + workloadPa(9080, "DISABLE"), HTTP, OFF)).toEqual([
      { tlsMode: "istio" },
      { tlsMode: "istio" },
    ]);
  });
});
