// Semantic validation of Sidecar (Istio's validating-webhook rules): workload selector,
// ingress listeners, egress listeners (port or Unix socket, namespace/host entries, the
// catch-all listener last), the inbound connection pool and the outbound traffic policy.
import type { FieldPath } from "../diagnostic.ts";
import { checkConnectionPool } from "./connection-pool.ts";
import type { KindValidator, ValidationContext } from "./context.ts";
import { checkNamespacedHost, checkUnixAddress, UNIX_PREFIX } from "./gateway-hosts.ts";
import { checkCidr, checkPort, isObj, type Obj, objects, present } from "./rules.ts";
import { checkIngressListeners, checkListenerPortFields } from "./sidecar-ingress.ts";
import { fqdnProblem, isIstioDnsLabel } from "./virtual-service-hosts.ts";
import { checkNetworkingSelector } from "./workload-entry-fields.ts";

/** `validateSidecarEgressPortBindAndCaptureMode`: a port number, or 0 with a unix:// bind. */
function checkEgressPort(ctx: ValidationContext, path: FieldPath, listener: Obj, port: Obj): void {
  checkListenerPortFields(ctx, [...path, "port"], port);
  const bind = listener.bind;
  const number = typeof port.number === "number" ? port.number : 0;
  if (number !== 0) {
    checkPort(ctx, [...path, "port", "number"], number);
    if (typeof bind === "string" && bind !== "")
      checkCidr(ctx, [...path, "bind"], bind, { allowCidr: false });
    return;
  }
  if (typeof bind !== "string" || !bind.startsWith(UNIX_PREFIX)) {
    ctx.error(
      [...path, "bind"],
      "CREMA_VALIDATION_ADDRESS",
      "an egress listener with port 0 (or no port number) listens on a Unix domain socket; set bind to unix:///path/to/socket or give the port a number",
    );
  } else {
    checkUnixAddress(ctx, [...path, "bind"], bind);
  }
  const mode = listener.captureMode;
  if (typeof mode === "string" && mode !== "DEFAULT" && mode !== "NONE") {
    ctx.error(
      [...path, "captureMode"],
      "CREMA_VALIDATION_INVALID",
      `captureMode ${mode} is not possible on a Unix domain socket listener; use DEFAULT or NONE`,
    );
  }
}

/** Egress hosts: `namespace/host` entries, with warnings for entries another one already covers. */
function checkEgressHosts(ctx: ValidationContext, path: FieldPath, hosts: unknown[]): void {
  if (hosts.length === 0) {
    ctx.error(
      path,
      "CREMA_VALIDATION_REQUIRED",
      `an egress listener needs at least one host; list namespace/host entries such as "./*" or "istio-system/*"`,
    );
    return;
  }
  const byNamespace = new Map<string, Set<string>>();
  hosts.forEach((entry, i) => {
    if (typeof entry !== "string") return;
    const at = [...path, i];
    const slash = entry.indexOf("/");
    if (slash >= 0) {
      const raw = entry.slice(0, slash);
      const namespace = raw === "." ? ctx.resource.namespace : raw;
      const host = entry.slice(slash + 1);
      const known = byNamespace.get(namespace) ?? new Set<string>();
      byNamespace.set(namespace, known);
      const covered = host === "*" ? known.size > 0 : known.has(host) || known.has("*");
      if (covered) {
        ctx.warn(
          at,
          "CREMA_VALIDATION_DUPLICATE",
          `egress host ${JSON.stringify(entry)} overlaps an earlier entry for the same namespace; remove the repeat`,
        );
      }
      known.add(host);
    }
    checkNamespacedHost(ctx, at, entry, false);
  });
  if (byNamespace.get("*")?.has("*") && byNamespace.size > 1) {
    ctx.warn(
      path,
      "CREMA_VALIDATION_DUPLICATE",
      `"*/*" already selects every host in every namespace, so the other entries add nothing; remove them or replace "*/*"`,
    );
  }
}

function checkEgressListeners(ctx: ValidationContext, egress: unknown[]): void {
  const ports = new Map<number, number>();
  const sockets = new Map<string, number>();
  for (const [listener, i] of objects(egress)) {
    const path = ["spec", "egress", i];
    const port = listener.port;
    if (!isObj(port)) {
      if (i !== egress.length - 1) {
        ctx.error(
          path,
          "CREMA_VALIDATION_INVALID",
          "an egress listener without a port is the catch-all and must be the last egress listener; move it to the end or give it a port",
        );
      }
    } else {
      checkEgressPort(ctx, path, listener, port);
      const number = typeof port.number === "number" ? port.number : 0;
      const key = number === 0 ? String(listener.bind ?? "") : undefined;
      const first = key === undefined ? ports.get(number) : sockets.get(key);
      if (first !== undefined) {
        ctx.error(
          number === 0 ? [...path, "bind"] : [...path, "port", "number"],
          "CREMA_VALIDATION_DUPLICATE",
          number === 0
            ? `Unix socket ${key} is already used by egress[${first}]; each listener needs its own socket`
            : `port ${number} is already used by egress[${first}]; each egress listener needs its own port`,
        );
      } else if (key === undefined) {
        ports.set(number, i);
      } else {
        sockets.set(key, i);
      }
    }
    if (Array.isArray(listener.hosts)) checkEgressHosts(ctx, [...path, "hosts"], listener.hosts);
  }
}

function checkOutboundTrafficPolicy(ctx: ValidationContext, policy: unknown): void {
  if (!isObj(policy) || !isObj(policy.egressProxy)) return;
  const path = ["spec", "outboundTrafficPolicy"];
  const proxy = policy.egressProxy;
  if (policy.mode !== "ALLOW_ANY") {
    ctx.error(
      [...path, "egressProxy"],
      "CREMA_VALIDATION_INVALID",
      "egressProxy is only used with mode ALLOW_ANY (REGISTRY_ONLY, the default, blocks unknown hosts); set mode: ALLOW_ANY or remove egressProxy",
    );
    return;
  }
  const host = proxy.host;
  const problem = typeof host === "string" ? fqdnProblem(host) : undefined;
  if (problem) {
    ctx.error(
      [...path, "egressProxy", "host"],
      "CREMA_VALIDATION_HOST",
      `egressProxy host ${JSON.stringify(host)} is invalid: ${problem}; use the service's fully qualified name`,
    );
  }
  if (typeof proxy.subset === "string" && proxy.subset !== "" && !isIstioDnsLabel(proxy.subset)) {
    ctx.error(
      [...path, "egressProxy", "subset"],
      "CREMA_VALIDATION_NAME",
      `subset name ${JSON.stringify(proxy.subset)} must be a DNS label (letters, digits and '-')`,
    );
  }
  if (!isObj(proxy.port)) {
    ctx.error(
      [...path, "egressProxy", "port"],
      "CREMA_VALIDATION_REQUIRED",
      "egressProxy needs a port; set port.number to the proxy service's port",
    );
    return;
  }
  checkPort(ctx, [...path, "egressProxy", "port", "number"], proxy.port.number ?? 0);
}

export const validateSidecar: KindValidator = (spec, ctx) => {
  checkNetworkingSelector(ctx, ["spec", "workloadSelector"], spec.workloadSelector, "Sidecar");
  const egress = Array.isArray(spec.egress) ? spec.egress : [];
  const ingress = Array.isArray(spec.ingress) ? spec.ingress : [];
  if (
    egress.length === 0 &&
    ingress.length === 0 &&
    !present(spec.outboundTrafficPolicy) &&
    !present(spec.inboundConnectionPool)
  ) {
    ctx.error(
      ["spec"],
      "CREMA_VALIDATION_REQUIRED",
      "the Sidecar configures nothing; add egress, ingress, outboundTrafficPolicy or inboundConnectionPool",
    );
    return;
  }
  checkIngressListeners(ctx, ingress);
  checkConnectionPool(ctx, ["spec", "inboundConnectionPool"], spec.inboundConnectionPool);
  checkEgressListeners(ctx, egress);
  checkOutboundTrafficPolicy(ctx, spec.outboundTrafficPolicy);
};
