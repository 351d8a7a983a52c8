// Which AuthorizationPolicies apply to a workload, by action, as istiod's
// ListAuthorizationPolicies selects them: the root namespace's (mesh-wide) and the workload's own
// namespace's, each kept when its `selector` matches the workload's labels (no selector: every
// workload there). `targetRef(s)` policies only attach to Gateway API gateway pods (the named
// Gateway); Service/ServiceEntry targets are for waypoints, which crema does not run.
import { stringMap } from "../../../config/analysis/labels.ts";
import type { Resource } from "../../../config/resource.ts";
import type { MeshConfig } from "../../model/mesh-config.ts";
import type { ProxyNode } from "../../model/proxy.ts";
import type { IstioConfig } from "../../model/snapshot.ts";

export type AuthzAction = "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";

export interface AuthzSource {
  principals: string[];
  notPrincipals: string[];
  requestPrincipals: string[];
  notRequestPrincipals: string[];
  namespaces: string[];
  notNamespaces: string[];
  serviceAccounts: string[];
  notServiceAccounts: string[];
  ipBlocks: string[];
  notIpBlocks: string[];
  remoteIpBlocks: string[];
  notRemoteIpBlocks: string[];
}

export interface AuthzOperation {
  hosts: string[];
  notHosts: string[];
  ports: string[];
  notPorts: string[];
  methods: string[];
  notMethods: string[];
  paths: string[];
  notPaths: string[];
}

export interface AuthzCondition {
  key: string;
  values: string[];
  notValues: string[];
}

export interface AuthzRule {
  /** One entry per `from`; undefined when the entry has no `source`. */
  from: Array<AuthzSource | undefined>;
  /** One entry per `to`; undefined when the entry has no `operation`. */
  to: Array<AuthzOperation | undefined>;
  when: AuthzCondition[];
}

/** An AuthorizationPolicy as the RBAC builder reads it. */
export interface AuthzPolicy {
  name: string;
  namespace: string;
  action: AuthzAction;
  /** CUSTOM: the extension provider's name. */
  provider?: string;
  /** `istio.io/dry-run: "true"`: the rules go to shadow_rules and are never enforced. */
  dryRun: boolean;
  /** `rules` in order; null for a null entry (istiod skips it). */
  rules: Array<AuthzRule | null>;
}

/** The policies of one workload, split by action; each list in creation order. */
export interface WorkloadPolicies {
  allow: AuthzPolicy[];
  deny: AuthzPolicy[];
  audit: AuthzPolicy[];
  custom: AuthzPolicy[];
}

export const DRY_RUN_ANNOTATION = "istio.io/dry-run";
const GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";
const GATEWAY_API_GROUP = "gateway.networking.k8s.io";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function sourceOf(value: Obj): AuthzSource {
  return {
    principals: strings(value.principals),
    notPrincipals: strings(value.notPrincipals),
    requestPrincipals: strings(value.requestPrincipals),
    notRequestPrincipals: strings(value.notRequestPrincipals),
    namespaces: strings(value.namespaces),
    notNamespaces: strings(value.notNamespaces),
    serviceAccounts: strings(value.serviceAccounts),
    notServiceAccounts: strings(value.notServiceAccounts),
    ipBlocks: strings(value.ipBlocks),
    notIpBlocks: strings(value.notIpBlocks),
    remoteIpBlocks: strings(value.remoteIpBlocks),
    notRemoteIpBlocks: strings(value.notRemoteIpBlocks),
  };
}

function operationOf(value: Obj): AuthzOperation {
  return {
    hosts: strings(value.hosts),
    notHosts: strings(value.notHosts),
    ports: strings(value.ports),
    notPorts: strings(value.notPorts),
    methods: strings(value.methods),
    notMethods: strings(value.notMethods),
    paths: strings(value.paths),
    notPaths: strings(value.notPaths),
  };
}

function ruleOf(value: unknown): AuthzRule | null {
  if (!isObj(value)) return null;
  return {
    from: list(value.from).map((f) =>
      isObj(f) && isObj(f.source) ? sourceOf(f.source) : undefined,
    ),
    to: list(value.to).map((t) =>
      isObj(t) && isObj(t.operation) ? operationOf(t.operation) : undefined,
    ),
    when: list(value.when)
      .filter(isObj)
      .map((c) => ({
        key: typeof c.key === "string" ? c.key : "",
        values: strings(c.values),
        notValues: strings(c.notValues),
      })),
  };
}

/** Go's strconv.ParseBool, as istiod reads the dry-run annotation (anything else: false). */
export function parseGoBool(value: string | undefined): boolean {
  return value === "1" || value === "t" || value === "T" || /^(true|TRUE|True)$/.test(value ?? "");
}

const ACTIONS: readonly AuthzAction[] = ["ALLOW", "DENY", "AUDIT", "CUSTOM"];

/** The policy's fields as the builder reads them; undefined for an unknown action (istiod skips it). */
export function parseAuthorizationPolicy(resource: Resource): AuthzPolicy | undefined {
  const spec = resource.spec;
  const rawAction = spec.action ?? "ALLOW";
  const action = ACTIONS.find((a) => a === rawAction);
  if (!action) return undefined;
  const provider = isObj(spec.provider) && typeof spec.provider.name === "string";
  return {
    name: resource.name,
    namespace: resource.namespace,
    action,
    ...(provider ? { provider: (spec.provider as Obj).name as string } : {}),
    dryRun: parseGoBool(resource.annotations[DRY_RUN_ANNOTATION]),
    rules: list(spec.rules).map(ruleOf),
  };
}

function targetRefsOf(spec: Obj): Obj[] {
  if (Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0) {
    return spec.targetRefs.filter(isObj);
  }
  return isObj(spec.targetRef) ? [spec.targetRef] : [];
}

/** Istio's WorkloadPolicyMatcher.ShouldAttachPolicy for a sidecar or gateway pod. */
export function policyAttaches(resource: Resource, proxy: ProxyNode): boolean {
  const refs = targetRefsOf(resource.spec);
  const gatewayName = proxy.labels[GATEWAY_NAME_LABEL];
  if (refs.length > 0) {
    if (gatewayName === undefined) return false;
    return refs.some(
      (ref) =>
        ref.group === GATEWAY_API_GROUP &&
        ref.kind === "Gateway" &&
        ref.name === gatewayName &&
        resource.namespace === proxy.namespace,
    );
  }
  const selector = isObj(resource.spec.selector)
    ? stringMap(resource.spec.selector.matchLabels)
    : {};
  return Object.entries(selector).every(([key, value]) => proxy.labels[key] === value);
}

/** The AuthorizationPolicies that apply to `proxy`, by action (root namespace first). */
export function selectWorkloadPolicies(
  config: Pick<IstioConfig, "authorizationPolicies">,
  meshConfig: Pick<MeshConfig, "rootNamespace">,
  proxy: ProxyNode,
): WorkloadPolicies {
  const out: WorkloadPolicies = { allow: [], deny: [], audit: [], custom: [] };
  const root = meshConfig.rootNamespace;
  const namespaces = root && root !== proxy.namespace ? [root, proxy.namespace] : [proxy.namespace];
  for (const namespace of namespaces) {
    for (const resource of config.authorizationPolicies) {
      if (resource.namespace !== namespace || !policyAttaches(resource, proxy)) continue;
      const policy = parseAuthorizationPolicy(resource);
      if (!policy) continue;
      const lists = { ALLOW: out.allow, DENY: out.deny, AUDIT: out.audit, CUSTOM: out.custom };
      lists[policy.action].push(policy);
    }
  }
  return out;
}

/** No policy of any action applies. */
export function hasNoPolicies(policies: WorkloadPolicies): boolean {
  return (
    policies.allow.length +
      policies.deny.length +
      policies.audit.length +
      policies.custom.length ===
    0
  );
}
