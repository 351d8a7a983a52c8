// Istio's auto-mTLS as a cluster carries it: TLS to endpoints labelled `tlsMode: istio`, raw TCP
// to the others, decided per endpoint by transport_socket_matches.
import { describe, expect, it } from "vitest";
import { istioUpstreamTls } from "../tls/testing.ts";
import { decodeCluster } from "./decode-cluster.ts";
import { createHost } from "./lb/host-set.ts";
import { transportSocketFor } from "./transport-socket-match.ts";

const RAW = {
  name: "envoy.transport_sockets.raw_buffer",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer",
  },
};

function cluster(extra: Record<string, unknown>) {
  const result = decodeCluster({
    name: "outbound|9080||reviews.default.svc.cluster.local",
    type: "EDS",
    eds_cluster_config: { eds_config: { ads: {} } },
    ...extra,
  });
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.value;
}

describe("transportSocketFor", () => {
  const config = cluster({
    transport_socket_matches: [
      {
        name: "tlsMode-istio",
        match: { tlsMode: "istio" },
        transport_socket: istioUpstreamTls({ sni: "outbound_.9080_._.reviews" }),
      },
      { name: "tlsMode-disabled", match: {}, transport_socket: RAW },
    ],
  });
  const host = (labels?: Record<string, unknown>) =>
    createHost({
      address: "10.0.0.1",
      port: 9080,
      ...(labels ? { metadata: { "envoy.transport_socket_match": labels } } : {}),
    });

  it("uses TLS for endpoints with a sidecar and raw TCP for the rest", () => {
    expect(transportSocketFor(config, host({ tlsMode: "istio" }))).toMatchObject({
      kind: "tls",
      tls: { sni: "outbound_.9080_._.reviews" },
    });
    expect(transportSocketFor(config, host({ tlsMode: "disabled" }))).toBeUndefined();
    expect(transportSocketFor(config, host())).toBeUndefined();
  });

  it("falls back to the cluster's transport socket when no match applies", () => {
    const only = cluster({
      transport_socket: istioUpstreamTls({ sni: "cluster-wide" }),
      transport_socket_matches: [{ name: "m", match: { tlsMode: "istio" }, transport_socket: RAW }],
    });
    expect(transportSocketFor(only, host({ tlsMode: "istio" }))).toBeUndefined();
    expect(transportSocketFor(only, host())).toMatchObject({ tls: { sni: "cluster-wide" } });
  });

  it("NACKs an unnamed match and a broken TLS context with their paths", () => {
    const result = decodeCluster({
      name: "c",
      transport_socket_matches: [
        { match: {}, transport_socket: { name: "envoy.transport_sockets.tls" } },
      ],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      "transport_socket_matches[0].transport_socket: typed_config is required for envoy.transport_sockets.tls",
      "transport_socket_matches[0].name: must be at least 1 character(s)",
    ]);
  });
});
