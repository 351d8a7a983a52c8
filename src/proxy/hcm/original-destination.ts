// ORIGINAL_DST (PassthroughCluster) host selection for the router (its hosts are shared with the
// TCP proxy: upstream/original-dst-host.ts), and the authority parsing it shares with CONNECT.
import type { Cluster } from "../upstream/cluster-manager.ts";
import type { Host } from "../upstream/lb/host-set.ts";
import { originalDstHost } from "../upstream/original-dst-host.ts";
import { firstValue } from "./headers.ts";
import type { RouterRequest } from "./router-types.ts";

/** "host", "host:port", "[v6]:port" → address and port. */
export function splitAuthority(
  authority: string,
  defaultPort: number,
): { address: string; port: number } | undefined {
  let address = authority;
  let port = defaultPort;
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    if (end < 0) return undefined;
    address = authority.slice(1, end);
    const rest = authority.slice(end + 1);
    if (rest.startsWith(":")) port = Number(rest.slice(1));
  } else {
    const colon = authority.lastIndexOf(":");
    if (colon >= 0) {
      address = authority.slice(0, colon);
      port = Number(authority.slice(colon + 1));
    }
  }
  if (address === "" || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { address, port };
}

/**
 * The request's own destination — the configured header, else the authority (the local runtime
 * has no iptables, so the target is what the client asked for).
 */
export function originalDestinationHost(cluster: Cluster, req: RouterRequest): Host | undefined {
  const header = cluster.config.originalDstHeader;
  const value = header ? firstValue(req.headers[header]) : req.routeRequest.authority;
  if (!value) return undefined;
  const target = splitAuthority(value, req.scheme === "https" ? 443 : 80);
  return target ? originalDstHost(target.address, target.port) : undefined;
}
