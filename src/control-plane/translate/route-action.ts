// The action of one VirtualService http rule: route (clusters, weights, rewrite, timeout,
// retries, mirrors, hash policy, destination headers), redirect or direct response — as Istio's
// applyHTTPRouteDestination, ApplyRedirect and ApplyDirectResponse write them.
import { buildClusterName } from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { Service } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { destinationRuleFor } from "./destination-rules.ts";
import { hashPolicyFor } from "./load-balancer.ts";
import { appendHeaderOperations, translateHeaderOperations } from "./route-headers.ts";
import { meshDefaultRetries, translateRetryPolicy } from "./route-retry.ts";
import {
  durationJson,
  integerToFractional,
  isObj,
  num,
  type Obj,
  objs,
  percentToFractional,
  str,
} from "./route-values.ts";

/** Everything a rule's translation depends on besides the rule itself. */
export interface RouteContext {
  snapshot: MeshSnapshot;
  proxy: ProxyNode;
  /** The port the listener (sidecar) or Gateway server accepts on. */
  listenPort: number;
  /**
   * The port clients actually connect to, when it is not `listenPort` (a local-runtime gateway
   * binding a remapped port): what a redirect's `derivePort: FROM_REQUEST_PORT` names.
   */
  requestPort?: number;
  /** "mesh" on sidecars; `namespace/name` of the Gateway on routers. */
  gateways: ReadonlySet<string>;
  /** The Gateway server terminates TLS (scheme of port redirects). */
  isTls: boolean;
  /** The registry service a (resolved) destination host names, as this proxy sees it. */
  lookupService(hostname: string): Service | undefined;
}

/** Istio's GetDestinationCluster: the destination's port, else the service's only port, else the listener's. */
export function destinationCluster(
  destination: Obj,
  service: Service | undefined,
  listenPort: number,
): string {
  const host = str(destination.host);
  if (!host) return "UnknownService";
  const written = isObj(destination.port) ? num(destination.port.number) : 0;
  const only = service?.ports.length === 1 ? service.ports[0]!.port : 0;
  const port = written || only || listenPort;
  return buildClusterName({ direction: "outbound", port, subset: str(destination.subset), host });
}

/** Route timeout: the rule's `timeout`, else none ("0s"); gRPC's header timeout capped alike. */
export function applyTimeout(action: JsonObject, timeout: unknown, proxy: ProxyNode): void {
  const value = durationJson(timeout) ?? "0s";
  action.timeout = value;
  // gRPC's xDS client reads max_stream_duration; Envoy the (deprecated) max_grpc_timeout.
  if (proxy.kind === "proxyless") action.max_stream_duration = { max_stream_duration: value };
  else action.max_grpc_timeout = value;
}

function mirrorPolicy(ctx: RouteContext, destination: Obj, fraction: JsonObject): JsonObject {
  const service = ctx.lookupService(str(destination.host));
  return {
    cluster: destinationCluster(destination, service, ctx.listenPort),
    runtime_fraction: { default_value: fraction },
    trace_sampled: false,
    // Istio ≥ 1.28 (DISABLE_SHADOW_HOST_SUFFIX, on by default): mirrors keep the original Host.
    disable_shadow_host_suffix_append: true,
  };
}

/** `mirror` (+ mirrorPercentage / mirrorPercent) and `mirrors`; absent percentage mirrors all, 0 none. */
export function translateMirrorPolicies(ctx: RouteContext, rule: Obj): JsonObject[] {
  const out: JsonObject[] = [];
  if (isObj(rule.mirror)) {
    let fraction: JsonObject | undefined = integerToFractional(100);
    if (isObj(rule.mirrorPercentage)) {
      fraction =
        num(rule.mirrorPercentage.value) > 0
          ? percentToFractional(rule.mirrorPercentage)
          : undefined;
    } else if (rule.mirrorPercent !== undefined && rule.mirrorPercent !== null) {
      const value = isObj(rule.mirrorPercent)
        ? num(rule.mirrorPercent.value)
        : num(rule.mirrorPercent);
      fraction = value > 0 ? integerToFractional(value) : undefined;
    }
    if (fraction) out.push(mirrorPolicy(ctx, rule.mirror, fraction));
  }
  for (const mirror of objs(rule.mirrors)) {
    if (!isObj(mirror.destination)) continue;
    let fraction: JsonObject | undefined = integerToFractional(100);
    if (isObj(mirror.percentage)) {
      fraction =
        num(mirror.percentage.value) > 0 ? percentToFractional(mirror.percentage) : undefined;
    }
    if (fraction) out.push(mirrorPolicy(ctx, mirror.destination, fraction));
  }
  return out;
}

function hashPolicies(ctx: RouteContext, destination: Obj): JsonObject[] {
  const host = str(destination.host);
  const client = { namespace: ctx.proxy.namespace, labels: ctx.proxy.labels };
  const rule = destinationRuleFor(ctx.snapshot, client, host);
  const port = isObj(destination.port) ? num(destination.port.number) || undefined : undefined;
  return hashPolicyFor(rule, port, str(destination.subset) || undefined);
}

/**
 * The RouteAction for a rule with `route` destinations; destination headers of a single
 * destination are appended to `route` (after the rule's own). Undefined when there is no destination.
 */
export function translateRouteAction(
  ctx: RouteContext,
  rule: Obj,
  route: JsonObject,
  ruleAuthority: string,
): JsonObject | undefined {
  const destinations = objs(rule.route).filter((d) => isObj(d.destination));
  if (destinations.length === 0) return undefined;
  const action: JsonObject = {};
  applyTimeout(action, rule.timeout, ctx.proxy);
  let authority = ruleAuthority;
  if (isObj(rule.rewrite)) {
    const rewrite = rule.rewrite;
    if (isObj(rewrite.uriRegexRewrite)) {
      action.regex_rewrite = {
        pattern: { regex: str(rewrite.uriRegexRewrite.match) },
        substitution: str(rewrite.uriRegexRewrite.rewrite),
      };
    } else if (str(rewrite.uri)) {
      // Envoy replaces the matched prefix, or the whole path for exact and regex matches.
      action.prefix_rewrite = str(rewrite.uri);
    }
    if (str(rewrite.authority)) authority = str(rewrite.authority);
  }
  if (authority) action.host_rewrite_literal = authority;
  const mirrors = translateMirrorPolicies(ctx, rule);
  if (mirrors.length) action.request_mirror_policies = mirrors;

  const hashes: JsonObject[] = [];
  let consistentHash = false;
  if (destinations.length === 1) {
    const only = destinations[0]!;
    const destination = only.destination as Obj;
    action.cluster = destinationCluster(
      destination,
      ctx.lookupService(str(destination.host)),
      ctx.listenPort,
    );
    const operations = translateHeaderOperations(only.headers);
    appendHeaderOperations(route, operations);
    if (operations.authority && action.host_rewrite_literal === undefined)
      action.host_rewrite_literal = operations.authority;
    const hash = hashPolicies(ctx, destination);
    hashes.push(...hash);
    consistentHash = hash.length > 0;
  } else {
    const clusters: JsonObject[] = [];
    for (const weighted of destinations) {
      // Zero-weight destinations are left out when there are others.
      if (num(weighted.weight) === 0) continue;
      const destination = weighted.destination as Obj;
      const entry: JsonObject = {
        name: destinationCluster(
          destination,
          ctx.lookupService(str(destination.host)),
          ctx.listenPort,
        ),
        weight: Math.trunc(num(weighted.weight)),
      };
      const operations = translateHeaderOperations(weighted.headers);
      appendHeaderOperations(entry, operations);
      if (operations.authority) entry.host_rewrite_literal = operations.authority;
      clusters.push(entry);
      hashes.push(...hashPolicies(ctx, destination));
    }
    if (clusters.length === 0) return undefined;
    action.weighted_clusters = { clusters };
  }
  if (hashes.length) action.hash_policy = hashes;
  const retries = isObj(rule.retries) ? rule.retries : meshDefaultRetries(ctx.snapshot.meshConfig);
  const retryPolicy = translateRetryPolicy(retries, consistentHash);
  if (retryPolicy) action.retry_policy = retryPolicy;
  return action;
}

const REDIRECT_CODES: Readonly<Record<number, string>> = {
  0: "MOVED_PERMANENTLY",
  301: "MOVED_PERMANENTLY",
  302: "FOUND",
  303: "SEE_OTHER",
  307: "TEMPORARY_REDIRECT",
  308: "PERMANENT_REDIRECT",
};

/** Istio's ApplyRedirect; undefined for a redirectCode Envoy cannot send. */
export function translateRedirect(
  redirect: Obj,
  listenPort: number,
  isTls: boolean,
): JsonObject | undefined {
  const code = REDIRECT_CODES[num(redirect.redirectCode)];
  if (!code) return undefined;
  const out: JsonObject = {};
  if (str(redirect.authority)) out.host_redirect = str(redirect.authority);
  if (str(redirect.uri)) out.path_redirect = str(redirect.uri);
  const scheme = str(redirect.scheme);
  if (scheme) out.scheme_redirect = scheme;
  const derive = str(redirect.derivePort);
  if (derive || redirect.port !== undefined) {
    // Routes are built per listener port, so FROM_REQUEST_PORT is that port.
    let port = derive === "FROM_REQUEST_PORT" ? listenPort : derive ? 0 : num(redirect.port);
    const effectiveScheme = scheme || (isTls ? "https" : "http");
    // No explicit :80 for http or :443 for https.
    if (
      (port === 80 && effectiveScheme === "http") ||
      (port === 443 && effectiveScheme === "https")
    )
      port = 0;
    if (port) out.port_redirect = port;
  }
  out.response_code = code;
  return out;
}

/** Istio's ApplyDirectResponse: status and an inline string or bytes (base64) body. */
export function translateDirectResponse(response: Obj): JsonObject {
  const out: JsonObject = { status: num(response.status) };
  const body = isObj(response.body) ? response.body : undefined;
  if (body && typeof body.string === "string") out.body = { inline_string: body.string };
  else if (body && typeof body.bytes === "string") out.body = { inline_bytes: body.bytes };
  return out;
}
