// Virtual host selection by authority, as Envoy's RouteMatcher: exact domain, then the longest
// suffix wildcard (`*.foo.com`, `*-bar.foo.com`), then the longest prefix wildcard (`foo.*`), then
// `*`. Case-insensitive; a wildcard never matches the empty string. The port is part of the
// authority unless the route configuration sets ignore_port_in_host_matching (Istio lists both
// "host" and "host:port" in domains instead).
import type { CompiledVirtualHost, VirtualHostIndex } from "./types.ts";

type Buckets = Map<number, Map<string, CompiledVirtualHost>>;

function add(buckets: Buckets, length: number, key: string, vhost: CompiledVirtualHost): boolean {
  let hosts = buckets.get(length);
  if (!hosts) {
    hosts = new Map();
    buckets.set(length, hosts);
  }
  if (hosts.has(key)) return false;
  hosts.set(key, vhost);
  return true;
}

function longestFirst(buckets: Buckets): VirtualHostIndex["suffixes"] {
  return [...buckets.entries()]
    .sort((a, b) => b[0] - a[0])
    .map(([length, hosts]) => ({ length, hosts }));
}

/**
 * Indexes the domains of `vhosts` (`paths[i]` names virtual host i in errors). Duplicate domains
 * and a second `*` are errors, as in Envoy.
 */
export function buildVirtualHostIndex(
  vhosts: readonly CompiledVirtualHost[],
  paths: readonly string[],
  routeConfigName: string,
  errors: string[],
): VirtualHostIndex {
  const exact = new Map<string, CompiledVirtualHost>();
  const suffixes: Buckets = new Map();
  const prefixes: Buckets = new Map();
  let catchAll: CompiledVirtualHost | undefined;
  vhosts.forEach((vhost, i) => {
    vhost.domains.forEach((raw, j) => {
      const domain = raw.toLowerCase();
      const at = `${paths[i]}.domains[${j}]`;
      let unique = true;
      if (domain === "*") {
        if (catchAll) {
          errors.push(
            `${at}: only a single wildcard domain is permitted in route ${routeConfigName}`,
          );
          return;
        }
        catchAll = vhost;
      } else if (domain.startsWith("*")) {
        unique = add(suffixes, domain.length - 1, domain.slice(1), vhost);
      } else if (domain.endsWith("*")) {
        unique = add(prefixes, domain.length - 1, domain.slice(0, -1), vhost);
      } else {
        unique = !exact.has(domain);
        if (unique) exact.set(domain, vhost);
      }
      if (!unique) {
        errors.push(
          `${at}: only unique values for domains are permitted; duplicate entry of domain ${domain} in route ${routeConfigName}`,
        );
      }
    });
  });
  const index: VirtualHostIndex = {
    exact,
    suffixes: longestFirst(suffixes),
    prefixes: longestFirst(prefixes),
    onlyCatchAll: exact.size === 0 && suffixes.size === 0 && prefixes.size === 0,
  };
  if (catchAll) index.catchAll = catchAll;
  return index;
}

/** Envoy's HeaderUtility::getPortStart: the ':' before a port, or -1 (IPv6 literals need []). */
export function portStart(authority: string): number {
  const colon = authority.lastIndexOf(":");
  if (colon < 0) return -1;
  const v6End = authority.lastIndexOf("]");
  return v6End < 0 || v6End < colon ? colon : -1;
}

export function stripPort(authority: string): string {
  const colon = portStart(authority);
  return colon < 0 ? authority : authority.slice(0, colon);
}

/** The virtual host for `authority`, or undefined (Envoy answers 404 NR). */
export function findVirtualHost(
  index: VirtualHostIndex,
  authority: string,
  ignorePort: boolean,
): CompiledVirtualHost | undefined {
  if (index.onlyCatchAll) return index.catchAll;
  if (authority === "") return undefined;
  const raw = ignorePort ? stripPort(authority) : authority;
  // Domains are stored lowercased, so a hit on the raw authority is already the right answer.
  const direct = index.exact.get(raw);
  if (direct) return direct;
  const host = raw.toLowerCase();
  const exact = host === raw ? undefined : index.exact.get(host);
  if (exact) return exact;
  const length = host.length;
  for (const bucket of index.suffixes) {
    if (bucket.length >= length) continue;
    const found = bucket.hosts.get(host.slice(length - bucket.length));
    if (found) return found;
  }
  for (const bucket of index.prefixes) {
    if (bucket.length >= length) continue;
    const found = bucket.hosts.get(host.slice(0, bucket.length));
    if (found) return found;
  }
  return index.catchAll;
}
