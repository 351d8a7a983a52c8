// Request mirroring (the route's request_mirror_policies): the router sends a sampled copy of
// each request to its mirror clusters before its first attempt, and discards their responses.
import { mirrorSampled, wireHeaders } from "../routing/select-route.ts";
import type { MirrorPolicy } from "../routing/types.ts";
import { clusterStats, countStatusClass } from "../stats/stats-store.ts";
import type { RouterDeps, RouterRequest } from "./router-types.ts";
import { upstreamTarget } from "./upstream-target.ts";
import type { UpstreamAttempt } from "./upstream-types.ts";

/** Envoy appends "-shadow" to the host part of a mirrored request's authority. */
function shadowAuthority(authority: string): string {
  const colon = authority.lastIndexOf(":");
  if (colon > 0 && !authority.endsWith("]") && /^\d+$/.test(authority.slice(colon + 1))) {
    return `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
  }
  return `${authority}-shadow`;
}

/** Fire-and-forget copy of the request to the mirror cluster; its response is discarded. */
function sendMirror(deps: RouterDeps, req: RouterRequest, policy: MirrorPolicy): void {
  const name = policy.cluster;
  if (!name) return;
  const cluster = deps.clusters.cluster(name);
  const host = cluster?.hostSet ? cluster.lb?.pick() : undefined;
  if (!cluster || !host) return;
  const authority = policy.disableShadowHostSuffixAppend
    ? req.authority
    : shadowAuthority(req.authority);
  const headers = wireHeaders(req.headers);
  // Istio's peer metadata headers go on before the router, so the copy carries them too: the
  // mirror's server reports who called.
  if (req.downstream.telemetry?.reporter === "source")
    deps.telemetry?.announce(headers, cluster.config);
  const stats = clusterStats(deps.stats, name);
  const target = upstreamTarget(
    cluster,
    host,
    req.downstream.protocol,
    deps.sourceAddress,
    stats,
    deps.upstreamTls,
    authority,
  );
  stats.upstreamRqTotal.inc();
  let attempt: UpstreamAttempt | undefined;
  const done = (): void => {
    if (attempt) req.body.detachMirror(attempt);
  };
  attempt = deps.pools.start(
    target,
    { method: req.method, path: req.path, authority, scheme: req.scheme, headers },
    {
      onResponse: (response) => {
        countStatusClass(stats, response.status);
        response.body.resume();
        response.body.on("error", () => {});
        done();
      },
      onReset: done,
    },
  );
  req.body.attachMirror(attempt);
}

/** Sends the request to each mirror policy's cluster its runtime fraction samples. */
export function sendMirrors(deps: RouterDeps, req: RouterRequest): void {
  const policies = req.action.requestMirrorPolicies;
  for (const policy of policies) {
    if (!mirrorSampled(policy, deps.random)) continue;
    sendMirror(deps, req, policy);
  }
}
