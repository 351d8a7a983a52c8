import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeConfigDump } from "./config-dump.ts";
import {
  buildRouteRows,
  describeDomains,
  renderRoutesTable,
  selectRoutes,
} from "./routes-table.ts";

const sleep = decodeConfigDump(
  JSON.parse(readFileSync(new URL("./testdata/sleep-config-dump.json", import.meta.url), "utf8")),
  "sleep",
);

describe("proxy-config routes", () => {
  it("prints a row per route with its virtual host, short domains and VirtualService", () => {
    expect(renderRoutesTable(buildRouteRows(sleep.routes))).toBe(
      [
        "NAME      VHOST NAME                            DOMAINS                      MATCH            VIRTUAL SERVICE",
        "80        echo.default.svc.cluster.local:80     echo, echo.default           /*               echo.default",
        "80        echo.default.svc.cluster.local:80     echo, echo.default           regex /re/.*     echo.default",
        "80        echo.default.svc.cluster.local:80     echo, echo.default           /*               echo.default",
        "15001     db.default.svc.cluster.local:5432     db:5432, db.default:5432     CONNECT",
        "15001     echo.default.svc.cluster.local:80     echo, echo.default           /*               echo.default",
        "15001     echo.default.svc.cluster.local:80     echo, echo.default           regex /re/.*     echo.default",
        "15001     echo.default.svc.cluster.local:80     echo, echo.default           /*               echo.default",
        "",
      ].join("\n"),
    );
  });

  it("keeps only the route configuration --name names", () => {
    expect(selectRoutes(sleep.routes, { name: "80" }).map((r) => r.name)).toEqual(["80"]);
    expect(buildRouteRows(sleep.routes, { name: "none" })).toEqual([]);
  });

  it("reads 404 for a virtual host without routes and leaves PassthroughCluster routes out", () => {
    const rows = buildRouteRows([
      {
        name: "http.8080",
        virtual_hosts: [
          { name: "blackhole:80", domains: ["*"], routes: [] },
          {
            name: "allow_any",
            domains: ["*"],
            routes: [{ match: { prefix: "/" }, route: { cluster: "PassthroughCluster" } }],
          },
        ],
      },
      { name: "inbound|8080||", virtual_hosts: [] },
    ]);
    expect(rows).toEqual([
      {
        name: "http.8080",
        virtualHost: "blackhole:80",
        domains: "*",
        match: "/*",
        virtualService: "404",
      },
    ]);
  });

  it("sorts route configurations named by port numerically, before the others", () => {
    const names = selectRoutes(
      [{ name: "9080" }, { name: "inbound|80||" }, { name: "80" }, { name: "http.8080" }],
      {},
    ).map((r) => r.name);
    expect(names).toEqual(["80", "9080", "http.8080", "inbound|80||"]);
  });
});

describe("describeDomains", () => {
  it("drops port forms and long forms, then shows two and counts the rest", () => {
    expect(
      describeDomains([
        "reviews.default.svc.cluster.local",
        "reviews.default.svc.cluster.local:9080",
        "reviews",
        "reviews:9080",
        "reviews.default.svc",
        "reviews.default",
        "10.96.1.2",
        "10.96.1.2:9080",
      ]),
    ).toBe("reviews, reviews.default + 1 more...");
    expect(describeDomains(["[fd00::1]", "[fd00::1]:80", "a"])).toBe("[fd00::1], a");
    expect(describeDomains(["*"])).toBe("*");
    expect(describeDomains([])).toBe("");
  });
});
