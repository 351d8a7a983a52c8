// A DestinationRule's explicit TLS mode must agree with the PeerAuthentication of the workloads
// it sends to (IST0113): DISABLE or SIMPLE towards a workload whose effective mode is STRICT,
// or ISTIO_MUTUAL towards one whose mode is DISABLE, breaks every connection. Checked per
// Service port (targetPort for port-level policies) and per subset; reported once per setting.
import type { FieldPath } from "../diagnostic.ts";
import { formatFieldPath } from "../diagnostic.ts";
import type { Resource } from "../resource.ts";
import { isObj, type Obj, objects } from "../validation/rules.ts";
import type { Analyzer } from "./analyzer.ts";
import { isEmpty, type Labels, selectorMatches, stringMap } from "./labels.ts";
import type { ServicePort, Workload } from "./mesh-index.ts";
import { type EffectiveMode, peerModeResolver } from "./peer-authentication.ts";

interface Scope {
  policy: Obj;
  path: FieldPath;
  labels: Labels;
  parent?: Scope;
}

interface TlsSetting {
  mode: string;
  path: FieldPath;
}

export const mtlsConflict: Analyzer = {
  name: "destinationrule.mtls",
  codes: ["IST0113"],
  run(ctx) {
    const peerMode = peerModeResolver(ctx);
    for (const rule of ctx.ofKind("DestinationRule")) {
      if (typeof rule.spec.host !== "string") continue;
      const services = ctx
        .servicesForHost(rule.spec.host, rule.namespace)
        .filter((s) => s.kubernetes && !isEmpty(s.selector));
      if (services.length === 0) continue;
      const top: Scope = {
        policy: asObj(rule.spec.trafficPolicy),
        path: ["spec", "trafficPolicy"],
        labels: {},
      };
      const scopes = [
        top,
        ...objects(rule.spec.subsets).map(
          ([subset, i]): Scope => ({
            policy: asObj(subset.trafficPolicy),
            path: ["spec", "subsets", i, "trafficPolicy"],
            labels: stringMap(subset.labels),
            parent: top,
          }),
        ),
      ];
      const reported = new Set<string>();
      for (const scope of scopes) {
        for (const service of services) {
          const workloads = ctx
            .workloadsSelectedBy(service.selector, service.namespace)
            .filter((w) => selectorMatches(scope.labels, w.labels));
          for (const port of service.ports) {
            const setting = tlsFor(scope, port.number);
            if (!setting || reported.has(formatFieldPath(setting.path))) continue;
            for (const workload of workloads) {
              const peer = peerMode(workload, targetPort(port, workload));
              const message = conflictMessage(
                setting.mode,
                peer,
                workload,
                `${service.hosts[0]} port ${port.number}`,
              );
              if (!message) continue;
              ctx.report(rule, setting.path, "IST0113", "error", message);
              reported.add(formatFieldPath(setting.path));
              break;
            }
          }
        }
      }
    }
  },
};

function asObj(value: unknown): Obj {
  return isObj(value) ? value : {};
}

/** The TLS mode a scope applies to `port`: port-level settings first, then the scope, then its parent. */
function tlsFor(scope: Scope, port: number): TlsSetting | undefined {
  for (const [settings, j] of objects(scope.policy.portLevelSettings)) {
    if (!isObj(settings.port) || settings.port.number !== port) continue;
    if (isObj(settings.tls) && typeof settings.tls.mode === "string")
      return {
        mode: settings.tls.mode,
        path: [...scope.path, "portLevelSettings", j, "tls", "mode"],
      };
  }
  if (isObj(scope.policy.tls) && typeof scope.policy.tls.mode === "string")
    return { mode: scope.policy.tls.mode, path: [...scope.path, "tls", "mode"] };
  return scope.parent ? tlsFor(scope.parent, port) : undefined;
}

function targetPort(port: ServicePort, workload: Workload): number {
  if (typeof port.targetPort === "number") return port.targetPort;
  if (typeof port.targetPort === "string")
    return workload.ports.find((p) => p.name === port.targetPort)?.number ?? port.number;
  return port.number;
}

function policyName(policy: Resource | undefined): string {
  return policy ? `PeerAuthentication ${policy.namespace}/${policy.name}` : "the mesh default";
}

function conflictMessage(
  mode: string,
  peer: EffectiveMode,
  workload: Workload,
  target: string,
): string | undefined {
  const who = `${workload.resource.kind} ${workload.namespace}/${workload.name}`;
  if ((mode === "DISABLE" || mode === "SIMPLE") && peer.mode === "STRICT") {
    const sends =
      mode === "DISABLE" ? "sends plaintext" : "originates TLS without an Istio client certificate";
    return `tls mode ${mode} ${sends} to ${target}, but ${policyName(peer.policy)} makes ${who} accept only Istio mutual TLS (STRICT), so its connections are reset; use ISTIO_MUTUAL, or remove the tls setting and let auto mTLS choose`;
  }
  if (mode === "ISTIO_MUTUAL" && peer.mode === "DISABLE") {
    return `tls mode ISTIO_MUTUAL sends Istio mutual TLS to ${target}, but ${policyName(peer.policy)} disables mTLS for ${who} (DISABLE), so it expects plaintext and the requests fail; remove the tls setting (auto mTLS then sends plaintext) or set the PeerAuthentication to PERMISSIVE or STRICT`;
  }
  return undefined;
}
