// The hosts of ORIGINAL_DST (CLUSTER_PROVIDED) clusters: one Host per destination, shared by the
// router, CONNECT and the TCP proxy, so a destination's host is not created for every connection.
import { createHost, type Host } from "./lb/host-set.ts";

/** Bounded: a proxy with a long life sees many destinations. */
const MAX_ORIGINAL_DST_HOSTS = 10_000;

const originalDstHosts = new Map<string, Host>();

/** The host for an original destination `address:port`. */
export function originalDstHost(address: string, port: number): Host {
  const key = `${address}:${port}`;
  let host = originalDstHosts.get(key);
  if (!host) {
    host = createHost({ address, port });
    if (originalDstHosts.size >= MAX_ORIGINAL_DST_HOSTS) originalDstHosts.clear();
    originalDstHosts.set(key, host);
  }
  return host;
}
