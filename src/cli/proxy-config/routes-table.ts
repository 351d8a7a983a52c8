// `proxy-config routes`: one row per route as istioctl prints it — route configuration name,
// virtual host, its domains (short forms, at most two), the match, and the VirtualService it
// came from; routes to PassthroughCluster are left out and an empty virtual host reads 404.
import type { JsonObject } from "../../xds/proto-json.ts";
import { formatTable } from "../table.ts";
import { istioConfigRef, objectAt, objectsAt, stringAt, stringsAt } from "./config-dump.ts";
import { describeRouteMatch } from "./route-match.ts";

export interface RouteFilter {
  /** The route configuration's name, exactly. */
  name?: string;
}

export interface RouteRow {
  name: string;
  virtualHost: string;
  domains: string;
  match: string;
  virtualService: string;
}

export const ROUTE_COLUMNS = ["NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"] as const;

const PASSTHROUGH_CLUSTER = "PassthroughCluster";
const MAX_DOMAINS = 2;

function splitPort(domain: string): { host: string; port: string } {
  // [v6] and [v6]:port keep their brackets; host:port splits at the last colon.
  const bracket = domain.lastIndexOf("]");
  const colon = domain.lastIndexOf(":");
  if (colon < 0 || colon < bracket) return { host: domain, port: "" };
  return { host: domain.slice(0, colon), port: domain.slice(colon) };
}

/** Drops `x.ns.svc.cluster.local` and `x.ns.svc` when the shorter `x.ns` is listed too. */
function unexpandDomains(domains: readonly string[]): string[] {
  const all = new Set(domains);
  return domains.filter((domain) => {
    const { host, port } = splitPort(domain);
    return ![".svc.cluster.local", ".svc"].some(
      (suffix) => host.endsWith(suffix) && all.has(`${host.slice(0, -suffix.length)}${port}`),
    );
  });
}

/**
 * The domains worth reading: istioctl drops the `:port` forms and the long forms of names it
 * also lists, then shows two and counts the rest. Where every domain carries a port (crema's
 * CONNECT routes), the port forms are kept rather than showing nothing.
 */
export function describeDomains(domains: readonly string[]): string {
  if (domains.length <= 1) return domains[0] ?? "";
  const withoutPort = domains.filter((d) => splitPort(d).port === "");
  const shown = unexpandDomains(withoutPort.length > 0 ? withoutPort : domains);
  if (shown.length > MAX_DOMAINS) {
    return `${shown.slice(0, MAX_DOMAINS).join(", ")} + ${shown.length - MAX_DOMAINS} more...`;
  }
  return shown.join(", ");
}

function isPassthrough(route: JsonObject): boolean {
  return stringAt(objectAt(route, "route"), "cluster") === PASSTHROUGH_CLUSTER;
}

/** Route configurations the filter keeps: named by port in numeric order, then the others. */
export function selectRoutes(routes: readonly JsonObject[], filter: RouteFilter): JsonObject[] {
  const numeric = (r: JsonObject) => {
    const name = stringAt(r, "name");
    return /^\d+$/.test(name) ? Number(name) : undefined;
  };
  return routes
    .filter((r) => !filter.name || stringAt(r, "name") === filter.name)
    .sort((a, b) => {
      const x = numeric(a);
      const y = numeric(b);
      if (x !== undefined && y !== undefined) return x - y;
      if (x !== undefined) return -1;
      if (y !== undefined) return 1;
      const p = stringAt(a, "name");
      const q = stringAt(b, "name");
      return p < q ? -1 : p > q ? 1 : 0;
    });
}

export function buildRouteRows(
  routes: readonly JsonObject[],
  filter: RouteFilter = {},
): RouteRow[] {
  const rows: RouteRow[] = [];
  for (const config of selectRoutes(routes, filter)) {
    const name = stringAt(config, "name");
    for (const vhost of objectsAt(config, "virtual_hosts")) {
      const virtualHost = stringAt(vhost, "name");
      const domains = describeDomains(stringsAt(vhost, "domains"));
      const vhostRoutes = objectsAt(vhost, "routes");
      for (const route of vhostRoutes) {
        if (isPassthrough(route)) continue;
        rows.push({
          name,
          virtualHost,
          domains,
          match: describeRouteMatch(objectAt(route, "match")),
          virtualService: istioConfigRef(route.metadata),
        });
      }
      if (vhostRoutes.length === 0) {
        rows.push({ name, virtualHost, domains, match: "/*", virtualService: "404" });
      }
    }
  }
  return rows;
}

export function renderRoutesTable(rows: readonly RouteRow[]): string {
  return formatTable(
    ROUTE_COLUMNS,
    rows.map((r) => [r.name, r.virtualHost, r.domains, r.match, r.virtualService]),
  );
}
