// Micro-benchmark: selectRoute over a route table of 1,000 virtual hosts × 10 routes (Istio-style
// domains, mixed match kinds), against a baseline of a plain Map lookup of the same authorities.
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import {
  type CompiledRouteConfig,
  decodeRouteConfiguration,
  findVirtualHost,
  type RouteRequest,
  releaseRouteConfiguration,
  selectRoute,
} from "../src/proxy/routing/index.ts";

export interface RouteBenchResult {
  name: string;
  nsPerOp: number;
  ratioToBaseline: number;
}

function routes(i: number): unknown[] {
  const cluster = (subset: string) => `outbound|80|${subset}|svc-${i}.ns.svc.cluster.local`;
  return [
    { name: "health", match: { path: "/health" }, route: { cluster: cluster("") } },
    {
      name: "jason",
      match: {
        prefix: "/api/v1/users",
        headers: [{ name: "end-user", string_match: { exact: "jason" } }],
      },
      route: { cluster: cluster("v2") },
    },
    { name: "users", match: { prefix: "/api/v1/users" }, route: { cluster: cluster("v1") } },
    {
      name: "orders",
      match: { safe_regex: { regex: "/api/v[0-9]+/orders/[0-9]+" } },
      route: { cluster: cluster("orders") },
    },
    {
      name: "static",
      match: { prefix: "/static/", case_sensitive: false },
      route: { cluster: cluster("static") },
    },
    {
      name: "admin",
      match: { prefix: "/admin", headers: [{ name: "x-admin", present_match: true }] },
      route: { cluster: cluster("admin") },
    },
    {
      name: "catalog",
      match: { path_separated_prefix: "/catalog" },
      route: { cluster: cluster("catalog") },
    },
    {
      name: "search",
      match: { prefix: "/search", query_parameters: [{ name: "q", present_match: true }] },
      route: { cluster: cluster("search") },
    },
    {
      name: "reviews",
      match: { prefix: "/reviews" },
      route: {
        weighted_clusters: {
          clusters: [
            { name: cluster("v1"), weight: 90 },
            { name: cluster("v2"), weight: 10 },
          ],
        },
      },
    },
    { name: "default", match: { prefix: "/" }, route: { cluster: cluster(""), timeout: "0s" } },
  ];
}

function routeTable(hosts: number): CompiledRouteConfig {
  const virtual_hosts = Array.from({ length: hosts }, (_, i) => {
    const fqdn = `svc-${i}.ns.svc.cluster.local`;
    return {
      name: `${fqdn}:80`,
      domains: [fqdn, `${fqdn}:80`, `svc-${i}`, `svc-${i}:80`],
      routes: routes(i),
    };
  });
  const result = decodeRouteConfiguration({ name: "80", virtual_hosts });
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.value;
}

const PATHS: Array<[string, Record<string, string>]> = [
  ["/health", {}],
  ["/api/v1/users/42", { "end-user": "jason" }],
  ["/api/v1/users/42", {}],
  ["/api/v2/orders/1234", {}],
  ["/STATIC/app.js", {}],
  ["/admin/panel", { "x-admin": "1" }],
  ["/catalog/coffee", {}],
  ["/search?q=espresso", {}],
  ["/reviews/7", {}],
  ["/", {}],
];

function requests(hosts: number, count: number, pick: (i: number) => number): RouteRequest[] {
  return Array.from({ length: count }, (_, i) => {
    const host = (i * 7919) % hosts;
    const [path, headers] = PATHS[pick(i)]!;
    return {
      authority: i % 2 === 0 ? `svc-${host}.ns.svc.cluster.local` : `svc-${host}:80`,
      path,
      method: "GET",
      scheme: "http",
      headers: { "user-agent": "bench", ...headers },
    };
  });
}

function measure(iterations: number, body: (i: number) => unknown): number {
  let sink = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) if (body(i) !== undefined) sink++;
  };
  run(Math.min(iterations, 100_000)); // warm-up
  const samples: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    run(iterations);
    samples.push(((performance.now() - start) * 1e6) / iterations);
  }
  if (sink < 0) console.log(sink);
  return samples.sort((a, b) => a - b)[2]!;
}

export function benchRouteMatch(hosts = 1000, iterations = 500_000): RouteBenchResult[] {
  const config = routeTable(hosts);
  const mixed = requests(hosts, 10_000, (i) => i % PATHS.length);
  const first = requests(hosts, 10_000, () => 0);
  const last = requests(hosts, 10_000, () => PATHS.length - 1);
  const regex = requests(hosts, 10_000, () => 3);
  const map = new Map<string, number>();
  for (let i = 0; i < hosts; i++) {
    for (const d of [
      `svc-${i}.ns.svc.cluster.local`,
      `svc-${i}.ns.svc.cluster.local:80`,
      `svc-${i}`,
      `svc-${i}:80`,
    ]) {
      map.set(d, i);
    }
  }
  const n = mixed.length;
  let r = 0;
  const random = () => {
    r = (r + 0.618_033_988_75) % 1;
    return r;
  };
  const raw: Array<[string, number]> = [
    ["Map.get(authority) (baseline)", measure(iterations, (i) => map.get(mixed[i % n]!.authority))],
    [
      "findVirtualHost",
      measure(iterations, (i) => findVirtualHost(config.hostIndex, mixed[i % n]!.authority, false)),
    ],
    [
      "selectRoute: first route hits",
      measure(iterations, (i) => selectRoute(config, first[i % n]!, random)),
    ],
    [
      "selectRoute: mixed (avg 5.5 routes)",
      measure(iterations, (i) => selectRoute(config, mixed[i % n]!, random)),
    ],
    [
      "selectRoute: 10th route hits",
      measure(iterations, (i) => selectRoute(config, last[i % n]!, random)),
    ],
    [
      "selectRoute: RE2 route hits",
      measure(iterations / 5, (i) => selectRoute(config, regex[i % n]!, random)),
    ],
  ];
  releaseRouteConfiguration(config);
  const baseline = raw[0]![1];
  return raw.map(([name, nsPerOp]) => ({ name, nsPerOp, ratioToBaseline: nsPerOp / baseline }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log("route matching: 1,000 virtual hosts × 10 routes (median of 5 runs)\n");
  const results = benchRouteMatch();
  const rows = results.map((r) => [
    r.name,
    `${r.nsPerOp.toFixed(0)} ns/op`,
    `${r.ratioToBaseline.toFixed(1)}×`,
  ]);
  const header = ["scenario", "time", "vs baseline"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [header, ...rows])
    console.log(row.map((c, i) => c.padEnd(widths[i]!)).join("  "));
}
