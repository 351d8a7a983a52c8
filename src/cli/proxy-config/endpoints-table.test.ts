import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  buildEndpointRows,
  decodeClusterStatuses,
  renderEndpointsTable,
  selectClusterStatuses,
} from "./endpoints-table.ts";

const statuses = decodeClusterStatuses(
  JSON.parse(readFileSync(new URL("./testdata/sleep-clusters.json", import.meta.url), "utf8")),
  "sleep",
);

describe("proxy-config endpoints", () => {
  it("prints every host of every cluster by address, port and cluster", () => {
    expect(renderEndpointsTable(buildEndpointRows(statuses))).toBe(
      [
        "ENDPOINT            STATUS      OUTLIER CHECK     CLUSTER",
        "127.45.1.1:8080     HEALTHY     OK                outbound|80|v1|echo.default.svc.cluster.local",
        "127.45.1.1:8080     HEALTHY     OK                outbound|80||echo.default.svc.cluster.local",
        "127.45.2.1:8080     HEALTHY     OK                outbound|80|v2|echo.default.svc.cluster.local",
        "127.45.2.1:8080     HEALTHY     OK                outbound|80||echo.default.svc.cluster.local",
        "127.45.3.1:5432     HEALTHY     OK                outbound|5432||db.default.svc.cluster.local",
        "",
      ].join("\n"),
    );
  });

  it("filters on cluster, status, address and port, ignoring case", () => {
    const rows = buildEndpointRows(statuses, {
      cluster: "OUTBOUND|80|V2|ECHO.DEFAULT.SVC.CLUSTER.LOCAL",
    });
    expect(rows.map((r) => r.address)).toEqual(["127.45.2.1"]);
    expect(buildEndpointRows(statuses, { status: "unhealthy" })).toEqual([]);
    expect(buildEndpointRows(statuses, { address: "127.45.3.1", port: 5432 })).toHaveLength(1);
    expect(selectClusterStatuses(statuses, { port: 5432 }).map((s) => s.name)).toEqual([
      "outbound|5432||db.default.svc.cluster.local",
    ]);
  });

  it("shows ejected hosts as FAILED, pipes as unix://, and a missing health as UNKNOWN", () => {
    const rows = buildEndpointRows([
      {
        name: "c",
        host_statuses: [
          {
            address: { socket_address: { address: "10.0.0.1", port_value: 80 } },
            health_status: { eds_health_status: "HEALTHY", failed_outlier_check: true },
          },
          { address: { pipe: { path: "./etc/istio/proxy/XDS" } }, health_status: {} },
        ],
      },
    ]);
    expect(renderEndpointsTable(rows)).toBe(
      [
        "ENDPOINT                         STATUS      OUTLIER CHECK     CLUSTER",
        "10.0.0.1:80                      HEALTHY     FAILED            c",
        "unix://./etc/istio/proxy/XDS     UNKNOWN     OK                c",
        "",
      ].join("\n"),
    );
  });

  it("refuses a body that is not Envoy's cluster statuses", () => {
    expect(() => decodeClusterStatuses([], "x")).toThrow(/cluster statuses/);
    expect(decodeClusterStatuses({}, "x")).toEqual([]);
  });
});
