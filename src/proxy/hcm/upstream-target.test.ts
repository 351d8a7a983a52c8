// upstreamTarget: one target per cluster config, host, protocol and source address, rebuilt when
// CDS replaces the cluster's config; its TLS offers what Istio's ALPN filter would.
import { describe, expect, it } from "vitest";
import { clusterStats, StatsStore } from "../stats/stats-store.ts";
import { CircuitBreakers } from "../upstream/circuit-breakers.ts";
import { type ClusterConfig, DEFAULT_CIRCUIT_BREAKERS } from "../upstream/cluster-config.ts";
import type { Cluster } from "../upstream/cluster-manager.ts";
import { createHost } from "../upstream/lb/host-set.ts";
import { poolKey, upstreamTarget } from "./upstream-target.ts";

const STATS = clusterStats(new StatsStore(), "svc");

function config(overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name: "svc",
    protocol: "downstream",
    connectTimeoutMs: 1000,
    idleTimeoutMs: 60_000,
    maxRequestsPerConnection: 0,
    ...overrides,
  } as ClusterConfig;
}

function cluster(c: ClusterConfig): { config: ClusterConfig } & Cluster {
  return {
    config: c,
    lb: undefined,
    circuitBreakers: new CircuitBreakers({
      DEFAULT: DEFAULT_CIRCUIT_BREAKERS,
      HIGH: DEFAULT_CIRCUIT_BREAKERS,
    }),
    outlierDetector: undefined,
    hostSet: undefined,
  };
}

describe("upstreamTarget", () => {
  it("returns the same target for every stream to a host while nothing changes", () => {
    const c = cluster(config());
    const host = createHost({ address: "10.0.0.1", port: 8080 });
    const first = upstreamTarget(c, host, "http1", "127.0.0.2", STATS);
    expect(upstreamTarget(c, host, "http1", "127.0.0.2", STATS)).toBe(first);
    expect(first).toMatchObject({
      address: "10.0.0.1",
      port: 8080,
      protocol: "http1",
      sourceAddress: "127.0.0.2",
      connectTimeoutMs: 1000,
      limits: { cluster: "svc", breakers: c.circuitBreakers, maxRequestsPerConnection: 0 },
    });
    expect(first.poolKey).toBe(poolKey({ ...first, poolKey: undefined }));
    const h2 = upstreamTarget(c, host, "http2", "127.0.0.2", STATS);
    expect(h2.protocol).toBe("http2");
    expect(h2.poolKey).not.toBe(first.poolKey);
    expect(upstreamTarget(c, host, "http1", "127.0.0.3", STATS).sourceAddress).toBe("127.0.0.3");
    const other = createHost({ address: "10.0.0.1", port: 8080 });
    expect(upstreamTarget(c, other, "http1", "127.0.0.2", STATS)).not.toBe(first);
  });

  it("follows a config update", () => {
    const c = cluster(config());
    const host = createHost({ address: "10.0.0.1", port: 8080 });
    const before = upstreamTarget(c, host, "http1", undefined, STATS);
    c.config = config({ connectTimeoutMs: 250, maxRequestsPerConnection: 3, protocol: "http2" });
    const after = upstreamTarget(c, host, "http1", undefined, STATS);
    expect(after).not.toBe(before);
    expect(after).toMatchObject({
      protocol: "http2",
      connectTimeoutMs: 250,
      limits: { maxRequestsPerConnection: 3 },
    });
  });

  it("never offers istio-peer-exchange, which only a TCP proxy's connection negotiates", () => {
    const tls = (alpnProtocols: string[]) =>
      ({
        kind: "tls",
        key: alpnProtocols.join(),
        tls: { sni: "", common: { alpnProtocols } },
      }) as never;
    const host = createHost({ address: "10.0.0.1", port: 8080 });
    const mesh = upstreamTarget(
      cluster(config({ transportSocket: tls(["istio-peer-exchange", "istio", "h2"]) })),
      host,
      "http2",
      undefined,
      STATS,
    );
    expect(mesh.tls?.target.alpn).toEqual(["istio", "h2"]);
    // Lists without it are offered as configured.
    const plain = upstreamTarget(
      cluster(config({ transportSocket: tls(["h2", "http/1.1"]) })),
      host,
      "http1",
      undefined,
      STATS,
    );
    expect(plain.tls).toBeDefined();
    expect(plain.tls?.target.alpn).toBeUndefined();
  });
});
