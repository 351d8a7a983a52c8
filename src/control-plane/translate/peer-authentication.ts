// PeerAuthentication as istiod resolves it: the policies that apply to a workload (its namespace's
// and the root namespace's, by selector — getConfigsForWorkload), merged with Istio's precedence
// (ComposePeerAuthentication: workload > namespace > mesh, the oldest policy of a level wins, UNSET
// inherits, PERMISSIVE when nothing is set, port-level modes only from the workload policy), and
// the namespace-level hint clients use for auto-mTLS (GetNamespaceMutualTLSMode).
import type { Resource } from "../../config/resource.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";

export type MtlsMode = "DISABLE" | "PERMISSIVE" | "STRICT";

/** The effective policy of one workload: its mode, overridden per workload (target) port. */
export interface MergedPeerAuthentication {
  mode: MtlsMode;
  perPort: ReadonlyMap<number, MtlsMode>;
}

export interface PeerAuthenticationWorkload {
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function matchLabels(policy: Resource): Record<string, unknown> {
  const selector = policy.spec.selector;
  return isObj(selector) && isObj(selector.matchLabels) ? selector.matchLabels : {};
}

function hasSelector(policy: Resource): boolean {
  return Object.keys(matchLabels(policy)).length > 0;
}

/** An `mtls` block's mode; undefined when the block is absent or UNSET (inherit). */
function modeOf(mtls: unknown): MtlsMode | undefined {
  if (!isObj(mtls)) return undefined;
  const mode = mtls.mode;
  return mode === "DISABLE" || mode === "PERMISSIVE" || mode === "STRICT" ? mode : undefined;
}

/** istiod getConfigsForWorkload: the workload's namespace, then the root namespace; oldest first. */
export function peerAuthenticationsFor(
  snapshot: MeshSnapshot,
  workload: PeerAuthenticationWorkload,
): Resource[] {
  const root = snapshot.meshConfig.rootNamespace;
  const namespaces = workload.namespace === root ? [root] : [workload.namespace, root];
  const out: Resource[] = [];
  for (const namespace of namespaces) {
    for (const policy of snapshot.config.peerAuthentications) {
      if (policy.namespace !== namespace) continue;
      const selected = Object.entries(matchLabels(policy)).every(
        ([key, value]) => workload.labels[key] === value,
      );
      if (selected) out.push(policy);
    }
  }
  return out;
}

/**
 * istiod ComposePeerAuthentication. `policies` come oldest first (the snapshot's order), so the
 * first of each level is the one Istio keeps. A policy with a selector in the root namespace is
 * not a workload policy and is ignored.
 */
export function composePeerAuthentication(
  rootNamespace: string,
  policies: readonly Resource[],
): MergedPeerAuthentication {
  let mesh: Resource | undefined;
  let namespace: Resource | undefined;
  let workload: Resource | undefined;
  for (const policy of policies) {
    if (!hasSelector(policy)) {
      if (policy.namespace === rootNamespace) mesh ??= policy;
      else namespace ??= policy;
    } else if (policy.namespace !== rootNamespace) {
      workload ??= policy;
    }
  }
  let mode: MtlsMode = "PERMISSIVE";
  for (const level of [mesh, namespace, workload]) {
    const own = level && modeOf(level.spec.mtls);
    if (own) mode = own;
  }
  const perPort = new Map<number, MtlsMode>();
  const portLevel = workload?.spec.portLevelMtls;
  if (isObj(portLevel)) {
    for (const [port, mtls] of Object.entries(portLevel)) {
      const number = Number(port);
      if (Number.isInteger(number) && number > 0) perPort.set(number, modeOf(mtls) ?? mode);
    }
  }
  return { mode, perPort };
}

/** The merged PeerAuthentication of a workload (Istio's NewMtlsPolicy). */
export function peerAuthenticationOf(
  snapshot: MeshSnapshot,
  workload: PeerAuthenticationWorkload,
): MergedPeerAuthentication {
  return composePeerAuthentication(
    snapshot.meshConfig.rootNamespace,
    peerAuthenticationsFor(snapshot, workload),
  );
}

/** GetMutualTLSModeForPort: the port-level mode when the workload policy names the port. */
export function mtlsModeForPort(merged: MergedPeerAuthentication, port: number): MtlsMode {
  return merged.perPort.get(port) ?? merged.mode;
}

/**
 * GetNamespaceMutualTLSMode: the mode of the namespace's (oldest) policy without a selector — UNSET
 * inherits the mesh mode, or PERMISSIVE without one — else the mesh policy's mode (UNSET there is
 * PERMISSIVE); undefined (Istio's MTLSUnknown) when neither exists.
 */
export function namespaceMtlsMode(snapshot: MeshSnapshot, namespace: string): MtlsMode | undefined {
  const root = snapshot.meshConfig.rootNamespace;
  const levelPolicy = (ns: string) =>
    snapshot.config.peerAuthentications.find((p) => p.namespace === ns && !hasSelector(p));
  const meshPolicy = levelPolicy(root);
  const meshMode = meshPolicy ? (modeOf(meshPolicy.spec.mtls) ?? "PERMISSIVE") : undefined;
  if (namespace === root) return meshMode;
  const own = levelPolicy(namespace);
  if (!own) return meshMode;
  return modeOf(own.spec.mtls) ?? meshMode ?? "PERMISSIVE";
}
