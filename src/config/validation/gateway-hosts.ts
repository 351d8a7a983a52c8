// Host and address forms of the Gateway family: `[namespace/]host` entries of Gateway servers
// and Sidecar egress listeners (Istio's ValidateNamespaceSlashWildcardHostname), and Unix
// domain socket addresses (`unix:///abs/path`, `unix://@abstract`).
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { isIpAddress, isIstioDnsLabel, wildcardDomainProblem } from "./virtual-service-hosts.ts";

export const UNIX_PREFIX = "unix://";

/** `validateSidecarOrGatewayHostnamePart`: `*`, `*.suffix` or a dotted DNS name (IPs on gateways). */
function hostPartProblem(host: string, gateway: boolean): string | undefined {
  if (host !== "*" && !host.includes(".")) {
    return "short names are not allowed here; write the fully qualified name (e.g. reviews.default.svc.cluster.local) or '*'";
  }
  const domain = wildcardDomainProblem(host);
  if (domain && !(gateway && isIpAddress(host))) return domain;
  if (host.includes("*") && host !== "*" && !host.startsWith("*.")) {
    return "a partial wildcard is not allowed; use '*' alone or a leading '*.' (e.g. *.example.com)";
  }
  return undefined;
}

/**
 * The reason a Gateway server host or Sidecar egress host is invalid. Gateways accept
 * `host` or `namespace/host` with namespace `*`, `.` or a name; Sidecars require
 * `namespace/host` and also accept `~` as the namespace.
 */
export function namespacedHostProblem(value: string, gateway: boolean): string | undefined {
  const slash = value.indexOf("/");
  if (slash < 0) {
    if (gateway) return hostPartProblem(value, true);
    return "egress hosts must be written namespace/host, e.g. ./*, istio-system/*, */*.example.com";
  }
  const namespace = value.slice(0, slash);
  const host = value.slice(slash + 1);
  if (namespace === "" || host === "") {
    return "both the namespace and the host must be non-empty in namespace/host";
  }
  const special = gateway ? ["*", "."] : ["*", ".", "~"];
  if (!special.includes(namespace) && !isIstioDnsLabel(namespace)) {
    return `namespace ${JSON.stringify(namespace)} is invalid; use ${gateway ? "'*', '.'" : "'*', '.', '~'"} or a namespace name`;
  }
  return hostPartProblem(host, gateway);
}

export function checkNamespacedHost(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
  gateway: boolean,
): boolean {
  if (typeof value !== "string") return true;
  const problem = namespacedHostProblem(value, gateway);
  if (!problem) return true;
  ctx.error(path, "CREMA_VALIDATION_HOST", `invalid host ${JSON.stringify(value)}: ${problem}`);
  return false;
}

/** `ValidateUnixAddress` on the part after `unix://`: an absolute file path or `@abstract`. */
export function unixPathProblem(path: string): string | undefined {
  if (path === "") return "the socket path after unix:// is empty; write unix:///path/to/socket";
  if (path.startsWith("@")) return undefined;
  if (!path.startsWith("/")) {
    return `${JSON.stringify(path)} is not an absolute path; write unix:///absolute/path or unix://@abstract-name`;
  }
  if (path.endsWith("/"))
    return `${JSON.stringify(path)} names a directory; point at the socket file`;
  return undefined;
}

/** Checks a `unix://...` address; returns false (after reporting) when it is malformed. */
export function checkUnixAddress(ctx: ValidationContext, path: FieldPath, value: string): boolean {
  const problem = unixPathProblem(value.slice(UNIX_PREFIX.length));
  if (!problem) return true;
  ctx.error(path, "CREMA_VALIDATION_ADDRESS", `invalid Unix domain socket address: ${problem}`);
  return false;
}
