// AuthorizationPolicy → the RBAC filters of one proxy's inbound (sidecar) or gateway listeners, in
// istiod's order: on HTTP chains CUSTOM first (its own seam, before jwt_authn), then AUDIT (LOG),
// DENY and ALLOW RBAC filters; on TCP chains the same sequence of network RBAC filters before
// tcp_proxy. Outbound sidecar listeners get none. Pure: snapshot × proxy → filters.
import type { JsonObject } from "../../../xds/proto-json.ts";
import type { MeshConfig } from "../../model/mesh-config.ts";
import type { ProxyNode } from "../../model/proxy.ts";
import type { MeshSnapshot } from "../../model/snapshot.ts";
import type { ListenerClass } from "../http-connection-manager.ts";
import { buildExtAuthzProviders } from "./ext-authz.ts";
import { selectWorkloadPolicies, type WorkloadPolicies } from "./policies.ts";
import {
  buildCustomHttpFilters,
  buildCustomNetworkFilters,
  buildRbacRules,
  type ExtAuthzProviders,
  rbacHttpFilter,
  rbacNetworkFilter,
} from "./rbac-filter.ts";
import type { RbacAction } from "./rbac-policy.ts";

export interface AuthzContext {
  snapshot: Pick<MeshSnapshot, "config" | "meshConfig" | "services">;
  proxy: ProxyNode;
  /**
   * Resolved `meshConfig.extensionProviders` (default: resolved from the snapshot). A CUSTOM
   * policy whose provider is missing here takes istiod's unknown-provider path: a DENY filter
   * for what it covers (fail closed).
   */
  extAuthzProviders?: ExtAuthzProviders;
}

/** Istio applies authorization on sidecar inbound and gateway listeners only. */
export function authzApplies(cls: ListenerClass): boolean {
  return cls === "sidecar-inbound" || cls === "gateway";
}

/**
 * Whether AuthorizationPolicy is enforced: only once proxies carry workload certificates, since
 * without a peer identity every principal-based ALLOW would deny all (meshConfig
 * `workloadCertificates`; see docs/security.md).
 */
export function authorizationEnforced(
  meshConfig: Pick<MeshConfig, "workloadCertificates">,
): boolean {
  return meshConfig.workloadCertificates;
}

function policiesOf(ctx: AuthzContext): WorkloadPolicies {
  return selectWorkloadPolicies(ctx.snapshot.config, ctx.snapshot.meshConfig, ctx.proxy);
}

/** AUDIT, DENY, ALLOW — one filter per action present, in the order istiod appends them. */
function byAction(policies: WorkloadPolicies): Array<[RbacAction, WorkloadPolicies["allow"]]> {
  return [
    ["LOG", policies.audit],
    ["DENY", policies.deny],
    ["ALLOW", policies.allow],
  ];
}

/** The `envoy.filters.http.rbac` filters for ALLOW, DENY and AUDIT policies of the proxy. */
export function buildAuthzHttpFilters(ctx: AuthzContext, cls: ListenerClass): JsonObject[] {
  if (!authzApplies(cls) || !authorizationEnforced(ctx.snapshot.meshConfig)) return [];
  const trustDomain = ctx.snapshot.meshConfig.trustDomain;
  return byAction(policiesOf(ctx)).flatMap(([action, policies]) => {
    const built = buildRbacRules(policies, action, { forTcp: false, trustDomain });
    return built ? [rbacHttpFilter(built)] : [];
  });
}

function providersOf(ctx: AuthzContext): ExtAuthzProviders {
  return ctx.extAuthzProviders ?? buildExtAuthzProviders(ctx.snapshot);
}

/** The HTTP filters for CUSTOM policies (RBAC marker + ext_authz, or a fail-closed DENY). */
export function buildCustomAuthzHttpFilters(ctx: AuthzContext, cls: ListenerClass): JsonObject[] {
  if (!authzApplies(cls) || !authorizationEnforced(ctx.snapshot.meshConfig)) return [];
  const custom = policiesOf(ctx).custom;
  if (custom.length === 0) return [];
  return buildCustomHttpFilters(custom, {
    trustDomain: ctx.snapshot.meshConfig.trustDomain,
    providers: providersOf(ctx),
  });
}

/**
 * The network filters a TCP filter chain of an inbound or gateway listener puts before its
 * terminal filter: CUSTOM, then `envoy.filters.network.rbac` for AUDIT, DENY and ALLOW.
 */
export function buildAuthzNetworkFilters(ctx: AuthzContext): JsonObject[] {
  if (!authorizationEnforced(ctx.snapshot.meshConfig)) return [];
  const policies = policiesOf(ctx);
  const trustDomain = ctx.snapshot.meshConfig.trustDomain;
  const custom = buildCustomNetworkFilters(policies.custom, {
    trustDomain,
    providers: policies.custom.length > 0 ? providersOf(ctx) : new Map(),
  });
  const rbac = byAction(policies).flatMap(([action, list]) => {
    const built = buildRbacRules(list, action, { forTcp: true, trustDomain });
    return built ? [rbacNetworkFilter(built)] : [];
  });
  return [...custom, ...rbac];
}
