// Host names as Istio resolves and compares them: short names to FQDNs in a namespace,
// wildcard coverage and overlap, and the `namespace/name` forms of gateway references.

/** Kubernetes' service domain; `reviews` in `default` is `reviews.default.svc.cluster.local`. */
export const CLUSTER_DOMAIN = "svc.cluster.local";

/** The special gateway name for sidecars. */
export const MESH_GATEWAY = "mesh";

/**
 * The FQDN Istio derives for `host` written in `namespace`: a short name `reviews` becomes
 * `reviews.<namespace>.svc.cluster.local`; `reviews.ns` becomes `reviews.ns.svc.cluster.local`
 * when `ns` is a known namespace; wildcards and other dotted names stay as written.
 */
export function resolveHost(
  host: string,
  namespace: string,
  isNamespace: (name: string) => boolean = () => false,
): string {
  let name = host.toLowerCase();
  if (name.endsWith(".")) name = name.slice(0, -1);
  if (name === "" || name.startsWith("*")) return name;
  const labels = name.split(".");
  if (labels.length === 1) return `${name}.${namespace}.${CLUSTER_DOMAIN}`;
  if (labels.length === 2 && isNamespace(labels[1]!)) return `${name}.${CLUSTER_DOMAIN}`;
  return name;
}

/** True when every name `host` stands for is also matched by `pattern` (`*.a.com` ⊇ `x.a.com`). */
export function hostCovers(pattern: string, host: string): boolean {
  if (pattern === host || pattern === "*") return true;
  if (!pattern.startsWith("*")) return false;
  const rest = host.startsWith("*") ? host.slice(1) : host;
  return rest.endsWith(pattern.slice(1));
}

/** True when some name matches both hosts (Istio's `host.Name.Matches`). */
export function hostsOverlap(a: string, b: string): boolean {
  return hostCovers(a, b) || hostCovers(b, a);
}

export interface NamespacedName {
  namespace: string;
  name: string;
}

/** A VirtualService `gateways` entry: `ns/name`, or a bare name in the VirtualService's namespace. */
export function parseGatewayRef(ref: string, namespace: string): NamespacedName {
  const slash = ref.indexOf("/");
  if (slash >= 0) return { namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
  return { namespace, name: ref };
}

export interface ServerHost {
  /** Namespace whose VirtualServices may bind to the host, or "*" for any. */
  namespace: string;
  host: string;
}

/** A Gateway server host: `host`, `ns/host`, `./host` (the Gateway's namespace) or `*\/host`. */
export function parseServerHost(entry: string, gatewayNamespace: string): ServerHost {
  const slash = entry.indexOf("/");
  if (slash < 0) return { namespace: "*", host: entry.toLowerCase() };
  const ns = entry.slice(0, slash);
  return {
    namespace: ns === "." ? gatewayNamespace : ns,
    host: entry.slice(slash + 1).toLowerCase(),
  };
}

/** Whether a resource in `owner` with this `exportTo` is visible from namespace `from`. */
export function exportedTo(exportTo: readonly string[], owner: string, from: string): boolean {
  if (exportTo.length === 0) return true;
  return exportTo.some((e) => e === "*" || (e === "." ? from === owner : e === from));
}
