// The PeerAuthentication mode in effect for a workload and port, with Istio's precedence: a
// policy selecting the workload (and its portLevelMtls), then the namespace's policy without a
// selector, then the root namespace's; UNSET inherits from the next level; none means PERMISSIVE.
import type { Resource } from "../resource.ts";
import { isObj } from "../validation/rules.ts";
import type { AnalysisContext } from "./analyzer.ts";
import { isEmpty, selectorMatches, stringMap } from "./labels.ts";
import type { Workload } from "./mesh-index.ts";

export interface EffectiveMode {
  mode: string;
  /** The policy that set the mode; undefined for the PERMISSIVE default. */
  policy?: Resource;
}

export type PeerModeResolver = (workload: Workload, port: number) => EffectiveMode;

export function peerModeResolver(ctx: AnalysisContext): PeerModeResolver {
  const policies = ctx.ofKind("PeerAuthentication");
  const namespaceWide = (namespace: string) =>
    policies.find((p) => p.namespace === namespace && isEmpty(selectorOf(p)));
  return (workload, port) => {
    const own = policies.find(
      (p) =>
        p.namespace === workload.namespace &&
        !isEmpty(selectorOf(p)) &&
        selectorMatches(selectorOf(p), workload.labels),
    );
    if (own) {
      const portMode = modeOf(portLevel(own)[String(port)]);
      if (portMode) return { mode: portMode, policy: own };
    }
    for (const policy of [
      own,
      namespaceWide(workload.namespace),
      namespaceWide(ctx.rootNamespace),
    ]) {
      const mode = policy && modeOf(policy.spec.mtls);
      if (policy && mode) return { mode, policy };
    }
    return { mode: "PERMISSIVE" };
  };
}

function selectorOf(policy: Resource): Record<string, string> {
  return isObj(policy.spec.selector) ? stringMap(policy.spec.selector.matchLabels) : {};
}

function portLevel(policy: Resource): Record<string, unknown> {
  return isObj(policy.spec.portLevelMtls) ? policy.spec.portLevelMtls : {};
}

/** The mode of an `mtls` block, or undefined when absent or UNSET (inherit). */
function modeOf(mtls: unknown): string | undefined {
  if (!isObj(mtls) || typeof mtls.mode !== "string" || mtls.mode === "UNSET") return undefined;
  return mtls.mode;
}
