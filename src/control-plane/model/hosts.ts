// Host names in the registry: the FQDN of a Kubernetes Service, and Istio's resolution of a
// host written in config (short name → FQDN in the config's namespace), used by buildSnapshot.
import { isIP } from "node:net";

/** `name.namespace.svc.<domainSuffix>`: the hostname of a Kubernetes Service. */
export function kubernetesHostname(name: string, namespace: string, domainSuffix: string): string {
  return `${name}.${namespace}.svc.${domainSuffix}`;
}

/**
 * Istio's `ResolveShortnameToFQDN` (pilot/pkg/model/config.go): a name without a dot becomes
 * `name.<namespace>.svc.<domainSuffix>`; `*`, IP addresses and every dotted name (FQDNs,
 * wildcards, and also `name.namespace`) are taken as written. Lowercased, as DNS compares.
 */
export function resolveHostname(host: string, namespace: string, domainSuffix: string): string {
  const name = host.toLowerCase();
  if (name === "" || name === "*" || name.includes(".") || isIP(name) !== 0) return name;
  return kubernetesHostname(name, namespace, domainSuffix);
}
