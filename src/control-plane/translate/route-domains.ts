// The Host header forms a sidecar's virtual host accepts for a service, as Istio's
// generateVirtualHostDomains: the FQDN, the Kubernetes short forms the proxy's namespace allows
// (`name` only from the same namespace, `name.ns`, `name.ns.svc`), and the service's VIPs —
// each with and without `:port`.
import { isIP } from "node:net";
import type { Service } from "../model/service.ts";

/** An IPv6 address in brackets, as it appears in a Host header. */
export function ipv6Compliant(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** `host:port` (Istio's util.DomainName, brackets for IPv6). */
export function domainName(host: string, port: number): string {
  return `${ipv6Compliant(host)}:${port}`;
}

/** Whether a domain (as `domainName` or `ipv6Compliant` write it) carries a `:port`. */
export function hasPort(domain: string): boolean {
  return /^(\[[^\]]*\]|[^:[\]]*):\d+$/.test(domain);
}

function withPort(host: string, port: number | undefined): string[] {
  return port === undefined ? [ipv6Compliant(host)] : [ipv6Compliant(host), domainName(host, port)];
}

/**
 * Istio's generateAltVirtualHostsForKubernetesService: the shorter names of a Kubernetes
 * hostname (`name.ns.svc.<suffix>`) valid from `proxyNamespace`; [] for other hostnames.
 */
export function alternateHostnames(
  hostname: string,
  proxyNamespace: string,
  domainSuffix: string,
  port: number | undefined,
): string[] {
  const svcAt = hostname.indexOf(".svc.");
  if (svcAt <= 0 || !hostname.endsWith(`.svc.${domainSuffix}`)) return [];
  const firstDot = hostname.indexOf(".");
  if (firstDot + 1 >= hostname.length || firstDot + 1 > svcAt) return [];
  const name = hostname.slice(0, firstDot);
  const nameNs = hostname.slice(0, svcAt);
  const forms =
    hostname.slice(firstDot + 1, svcAt) === proxyNamespace
      ? [name, `${nameNs}.svc`, nameNs]
      : [nameNs, `${nameNs}.svc`];
  return forms.flatMap((form) => withPort(form, port));
}

export interface ServiceDomains {
  domains: string[];
  /** The alternate (shortened) names among `domains`. */
  alternates: string[];
}

/**
 * Domains of `service` on `port` seen from `proxyNamespace`. `port` undefined leaves the
 * `:port` forms out. Headless Kubernetes services also match any subdomain (pod DNS names).
 */
export function serviceDomains(
  service: Service,
  port: number | undefined,
  proxyNamespace: string,
  domainSuffix: string,
): ServiceDomains {
  const alternates = alternateHostnames(service.hostname, proxyNamespace, domainSuffix, port);
  const domains = [...withPort(service.hostname, port), ...alternates];
  if (service.kind === "Service" && service.resolution === "NONE") {
    for (const domain of [...domains]) domains.push(`*.${domain}`);
  }
  for (const address of service.addresses) {
    if (address && address !== "0.0.0.0") domains.push(...withPort(address, port));
  }
  return { domains, alternates };
}
