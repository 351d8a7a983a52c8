import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  buildClusterRows,
  clusterMatches,
  renderClustersTable,
  selectClusters,
} from "./clusters-table.ts";
import { decodeConfigDump } from "./config-dump.ts";

const dumpOf = (name: string) =>
  decodeConfigDump(
    JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8")),
    name,
  );
const sleep = dumpOf("sleep-config-dump.json");
const echo = dumpOf("echo-config-dump.json");

describe("proxy-config clusters", () => {
  it("prints a sidecar's clusters as istioctl does, sorted by FQDN, subset, port, direction", () => {
    expect(renderClustersTable(buildClusterRows(sleep.clusters))).toBe(
      [
        "SERVICE FQDN                       PORT     SUBSET     DIRECTION     TYPE             DESTINATION RULE",
        "BlackHoleCluster                   -        -          -             STATIC",
        "InboundPassthroughCluster          -        -          -             ORIGINAL_DST",
        "PassthroughCluster                 -        -          -             ORIGINAL_DST",
        "db.default.svc.cluster.local       5432     -          outbound      EDS",
        "echo.default.svc.cluster.local     80       -          outbound      EDS              echo.default",
        "echo.default.svc.cluster.local     80       v1         outbound      EDS              echo.default",
        "echo.default.svc.cluster.local     80       v2         outbound      EDS              echo.default",
        "",
      ].join("\n"),
    );
  });

  it("shows an inbound cluster with its port and no FQDN", () => {
    expect(buildClusterRows(echo.clusters)[0]).toEqual({
      fqdn: "",
      port: "8080",
      subset: "-",
      direction: "inbound",
      type: "STATIC",
      destinationRule: "",
    });
  });

  it("filters on FQDN, port, subset and direction the way istioctl does (parts of the name)", () => {
    const names = (filter: Parameters<typeof selectClusters>[1]) =>
      selectClusters(echo.clusters, filter).map((c) => c.name);
    expect(names({ fqdn: "echo.default.svc.cluster.local", subset: "v2" })).toEqual([
      "outbound|80|v2|echo.default.svc.cluster.local",
    ]);
    expect(names({ port: 8080 })).toEqual(["inbound|8080||"]);
    expect(names({ direction: "inbound" })).toEqual(["inbound|8080||"]);
    expect(names({ port: 5432, direction: "outbound" })).toEqual([
      "outbound|5432||db.default.svc.cluster.local",
    ]);
    expect(names({ fqdn: "nothing" })).toEqual([]);
    expect(clusterMatches("BlackHoleCluster", {})).toBe(true);
  });

  it("names a custom cluster type and defaults an unset type to STATIC", () => {
    const rows = buildClusterRows([
      { name: "dns", cluster_type: { name: "envoy.clusters.dynamic_forward_proxy" } },
      { name: "plain" },
    ]);
    expect(rows.map((r) => r.type)).toEqual(["envoy.clusters.dynamic_forward_proxy", "STATIC"]);
  });
});
