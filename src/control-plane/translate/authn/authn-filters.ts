// The authentication HTTP filters of one HCM, as istiod's authn Builder.BuildHTTP adds them: the
// jwt_authn filter for the RequestAuthentications that select the proxy, on inbound sidecar chains
// and gateways only (never outbound).
import type { Resource } from "../../../config/resource.ts";
import type { JsonObject } from "../../../xds/proto-json.ts";
import type { MeshConfig } from "../../model/mesh-config.ts";
import type { ProxyNode } from "../../model/proxy.ts";
import type { MeshSnapshot } from "../../model/snapshot.ts";
import type { ListenerClass } from "../http-connection-manager.ts";
import { buildJwtAuthnFilter, type JwksLookup } from "./jwt-authn-filter.ts";
import { jwtRulesOf } from "./jwt-rules.ts";
import { policiesForWorkload } from "./policy-selection.ts";

/** What authentication reads from the HCM context; snapshot and jwks are optional inputs. */
export interface AuthnContext {
  meshConfig: MeshConfig;
  proxy: ProxyNode;
  /** Without a snapshot there are no policies to read, so no filter. */
  snapshot?: Pick<MeshSnapshot, "config" | "jwks">;
  /** Key sets the control plane fetched (default: the snapshot's); absent: fake key sets. */
  jwks?: JwksLookup;
}

/** The RequestAuthentications that apply to the proxy's workload. */
export function requestAuthenticationsFor(
  snapshot: Pick<MeshSnapshot, "config">,
  proxy: Pick<ProxyNode, "namespace" | "labels">,
  rootNamespace: string,
): Resource[] {
  return policiesForWorkload(
    snapshot.config.requestAuthentications,
    { namespace: proxy.namespace, labels: proxy.labels },
    rootNamespace,
  );
}

export function buildAuthnFilters(ctx: AuthnContext, cls: ListenerClass): JsonObject[] {
  if (cls === "sidecar-outbound" || !ctx.snapshot) return [];
  const policies = requestAuthenticationsFor(ctx.snapshot, ctx.proxy, ctx.meshConfig.rootNamespace);
  const rules = jwtRulesOf(policies);
  const jwks = ctx.jwks ?? ctx.snapshot.jwks;
  const filter = buildJwtAuthnFilter(rules, {
    ...(jwks ? { jwks } : {}),
    clearRouteCache: ctx.proxy.kind !== "sidecar",
  });
  return filter ? [filter] : [];
}
