import { describe, expect, it } from "vitest";
import { manualClock } from "../../base/clock.ts";
import type { ResourceUpdate } from "../../xds/client/types.ts";
import { ClusterManager } from "../upstream/cluster-manager.ts";
import {
  type AdminCluster,
  describeClusters,
  healthFlags,
  renderClustersJson,
  renderClustersText,
} from "./clusters-view.ts";

const REVIEWS = "outbound|9080||reviews.default.svc.cluster.local";

function update(added: Record<string, unknown>): ResourceUpdate {
  const map = new Map(Object.entries(added)) as ResourceUpdate["added"];
  return {
    added: map,
    removed: [],
    full: false,
    version: "1",
    versions: new Map([...map.keys()].map((n) => [n, "1"])),
  };
}

function managerWithClusters(): ClusterManager {
  const manager = new ClusterManager({ clock: manualClock() });
  const result = manager.cdsHandler().apply(
    update({
      [REVIEWS]: {
        name: REVIEWS,
        alt_stat_name: "outbound|9080||reviews",
        type: "STATIC",
        circuit_breakers: { thresholds: [{ max_connections: 100 }] },
        outlier_detection: { consecutive_5xx: 3 },
        load_assignment: {
          cluster_name: REVIEWS,
          endpoints: [
            {
              locality: { region: "eu", zone: "eu-1" },
              lb_endpoints: [
                {
                  endpoint: {
                    address: { socket_address: { address: "10.0.0.1", port_value: 9080 } },
                    hostname: "reviews-v1",
                  },
                  load_balancing_weight: 3,
                },
                {
                  endpoint: {
                    address: { socket_address: { address: "10.0.0.2", port_value: 9080 } },
                  },
                  health_status: "DEGRADED",
                },
              ],
            },
          ],
        },
      },
      "outbound|80||web.default.svc.cluster.local": {
        name: "outbound|80||web.default.svc.cluster.local",
        type: "EDS",
        eds_cluster_config: { eds_config: { ads: {} }, service_name: "web-eds" },
      },
    }),
  );
  expect(result.errors).toEqual([]);
  return manager;
}

describe("describeClusters", () => {
  it("adds limits, the detector and host details to the snapshot", () => {
    const [web, reviews] = describeClusters(managerWithClusters());
    expect(web).toMatchObject({ warming: true, edsServiceName: "web-eds", hosts: [] });
    expect(reviews).toMatchObject({
      name: REVIEWS,
      observabilityName: "outbound|9080||reviews",
      outlierDetection: true,
      circuitBreakers: { DEFAULT: { maxConnections: 100, maxRetries: 3 } },
    });
    expect(reviews!.hosts[0]).toMatchObject({
      address: "10.0.0.1:9080",
      hostname: "reviews-v1",
      weight: 3,
      priority: 0,
      locality: { region: "eu", zone: "eu-1", subZone: "" },
    });
  });
});

describe("renderClustersText", () => {
  it("writes Envoy's lines for a cluster and its hosts", () => {
    const [, reviews] = describeClusters(managerWithClusters());
    const text = renderClustersText([reviews!]);
    const lines = text.split("\n");
    expect(lines.slice(0, 15)).toEqual([
      `${REVIEWS}::observability_name::outbound|9080||reviews`,
      `${REVIEWS}::outlier::success_rate_average::-1`,
      `${REVIEWS}::outlier::success_rate_ejection_threshold::-1`,
      `${REVIEWS}::outlier::local_origin_success_rate_average::-1`,
      `${REVIEWS}::outlier::local_origin_success_rate_ejection_threshold::-1`,
      `${REVIEWS}::default_priority::max_connections::100`,
      `${REVIEWS}::default_priority::max_pending_requests::1024`,
      `${REVIEWS}::default_priority::max_requests::1024`,
      `${REVIEWS}::default_priority::max_retries::3`,
      `${REVIEWS}::high_priority::max_connections::1024`,
      `${REVIEWS}::high_priority::max_pending_requests::1024`,
      `${REVIEWS}::high_priority::max_requests::1024`,
      `${REVIEWS}::high_priority::max_retries::3`,
      `${REVIEWS}::added_via_api::true`,
      `${REVIEWS}::10.0.0.1:9080::cx_active::0`,
    ]);
    const host = `${REVIEWS}::10.0.0.1:9080::`;
    expect(lines.slice(15, 27)).toEqual([
      `${host}rq_active::0`,
      `${host}hostname::reviews-v1`,
      `${host}health_flags::healthy`,
      `${host}weight::3`,
      `${host}region::eu`,
      `${host}zone::eu-1`,
      `${host}sub_zone::`,
      `${host}canary::false`,
      `${host}priority::0`,
      `${host}success_rate::-1`,
      `${host}local_origin_success_rate::-1`,
      `${REVIEWS}::10.0.0.2:9080::cx_active::0`,
    ]);
    expect(text).toContain(`${REVIEWS}::10.0.0.2:9080::health_flags::/degraded_eds_health\n`);
    expect(text.endsWith("\n")).toBe(true);
  });

  it("prints only what a bare snapshot has, with the proxy's host stats sorted in", () => {
    const cluster: AdminCluster = {
      name: "BlackHoleCluster",
      type: "STATIC",
      warming: false,
      addedViaApi: false,
      edsServiceName: "bh",
      hosts: [
        {
          address: "[::1]:80",
          health: "HEALTHY",
          ejected: true,
          activeRequests: 2,
          outlierEjections: 1,
          stats: { rq_total: 9, cx_active: 1 },
        },
      ],
    };
    expect(renderClustersText([cluster]).split("\n").slice(0, 7)).toEqual([
      "BlackHoleCluster::observability_name::BlackHoleCluster",
      "BlackHoleCluster::added_via_api::false",
      "BlackHoleCluster::eds_service_name::bh",
      "BlackHoleCluster::[::1]:80::cx_active::1",
      "BlackHoleCluster::[::1]:80::rq_active::2",
      "BlackHoleCluster::[::1]:80::rq_total::9",
      "BlackHoleCluster::[::1]:80::hostname::",
    ]);
    expect(renderClustersText([])).toBe("");
  });
});

describe("healthFlags", () => {
  it.each([
    [{ health: "HEALTHY", ejected: false }, "healthy"],
    [{ health: "UNKNOWN", ejected: false }, "healthy"],
    [{ health: "HEALTHY", ejected: true }, "/failed_outlier_check"],
    [{ health: "UNHEALTHY", ejected: true }, "/failed_outlier_check/failed_eds_health"],
    [{ health: "DRAINING", ejected: false }, "/failed_eds_health/eds_status_draining"],
    [{ health: "DEGRADED", ejected: false }, "/degraded_eds_health"],
  ])("%o → %s", (host, flags) => {
    expect(healthFlags({ address: "a:1", activeRequests: 0, outlierEjections: 0, ...host })).toBe(
      flags,
    );
  });
});

describe("renderClustersJson", () => {
  it("writes Envoy's cluster_statuses, leaving proto3 defaults out", () => {
    const clusters = describeClusters(managerWithClusters());
    clusters[1]!.hosts[1] = { ...clusters[1]!.hosts[1]!, ejected: true, activeRequests: 4 };
    const json = renderClustersJson(clusters);
    expect(json).toEqual({
      cluster_statuses: [
        {
          name: "outbound|80||web.default.svc.cluster.local",
          added_via_api: true,
          circuit_breakers: {
            thresholds: [
              {
                max_connections: 1024,
                max_pending_requests: 1024,
                max_requests: 1024,
                max_retries: 3,
              },
              {
                priority: "HIGH",
                max_connections: 1024,
                max_pending_requests: 1024,
                max_requests: 1024,
                max_retries: 3,
              },
            ],
          },
          observability_name: "outbound|80||web.default.svc.cluster.local",
          eds_service_name: "web-eds",
        },
        expect.objectContaining({
          name: REVIEWS,
          observability_name: "outbound|9080||reviews",
          host_statuses: [
            {
              address: { socket_address: { address: "10.0.0.1", port_value: 9080 } },
              stats: [
                { name: "cx_active", type: "GAUGE" },
                { name: "rq_active", type: "GAUGE" },
              ],
              health_status: { eds_health_status: "HEALTHY" },
              weight: 3,
              hostname: "reviews-v1",
              locality: { region: "eu", zone: "eu-1" },
            },
            {
              address: { socket_address: { address: "10.0.0.2", port_value: 9080 } },
              stats: [
                { name: "cx_active", type: "GAUGE" },
                { name: "rq_active", value: "4", type: "GAUGE" },
              ],
              health_status: { eds_health_status: "DEGRADED", failed_outlier_check: true },
              weight: 1,
              locality: { region: "eu", zone: "eu-1" },
            },
          ],
        }),
      ],
    });
  });
});
