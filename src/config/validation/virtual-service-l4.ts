// The `tls[]` and `tcp[]` rules of a VirtualService: match attributes (SNI hosts, subnets,
// port, source labels, gateways) and routes — Istio's validateTLSRoute and validateTCPRoute.
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { checkCidr, checkLabels, checkPort, type Obj, objects } from "./rules.ts";
import { checkRouteDestinations } from "./virtual-service-destinations.ts";
import {
  checkGatewayNames,
  gatewayBoundDomainProblem,
  hostSubsetOf,
  isIpAddress,
  wildcardDomainProblem,
} from "./virtual-service-hosts.ts";

export interface L4Context {
  /** The VirtualService's hosts, which every SNI host must fall within. */
  hosts: readonly string[];
  /** Bound only to gateways (no "mesh" among `gateways`). */
  gatewayOnly: boolean;
}

function checkL4Match(ctx: ValidationContext, path: FieldPath, match: Obj): void {
  if (Array.isArray(match.destinationSubnets)) {
    match.destinationSubnets.forEach((subnet, i) => {
      checkCidr(ctx, [...path, "destinationSubnets", i], subnet);
    });
  }
  if (match.port !== 0) checkPort(ctx, [...path, "port"], match.port);
  checkLabels(ctx, [...path, "sourceLabels"], match.sourceLabels);
  checkGatewayNames(ctx, [...path, "gateways"], match.gateways);
}

function checkRouteRequired(
  ctx: ValidationContext,
  path: FieldPath,
  rule: Obj,
  kind: string,
): void {
  if (!Array.isArray(rule.route) || rule.route.length === 0) {
    ctx.error(
      Array.isArray(rule.route) ? [...path, "route"] : path,
      "CREMA_VALIDATION_REQUIRED",
      `a ${kind} rule needs at least one route destination`,
    );
  }
  checkRouteDestinations(ctx, [...path, "route"], rule.route, { http: false });
}

function checkSniHost(ctx: ValidationContext, path: FieldPath, sni: string, vs: L4Context): void {
  const problem = vs.gatewayOnly
    ? gatewayBoundDomainProblem(sni, true)
    : wildcardDomainProblem(sni);
  if (problem) {
    if (isIpAddress(sni)) {
      ctx.warn(
        path,
        "CREMA_VALIDATION_HOST",
        `SNI host ${JSON.stringify(sni)} is an IP address; SNI carries names and most clients never send an IP`,
      );
    } else {
      ctx.error(
        path,
        "CREMA_VALIDATION_HOST",
        `invalid SNI host ${JSON.stringify(sni)}: ${problem}`,
      );
    }
    return;
  }
  if (!vs.hosts.some((host) => hostSubsetOf(sni, host))) {
    ctx.error(
      path,
      "CREMA_VALIDATION_HOST",
      `SNI host ${JSON.stringify(sni)} is not within any of the VirtualService's hosts [${vs.hosts.join(", ")}]`,
    );
  }
}

export function checkTlsRoute(
  ctx: ValidationContext,
  path: FieldPath,
  rule: Obj,
  vs: L4Context,
): void {
  if (!Array.isArray(rule.match) || rule.match.length === 0) {
    ctx.error(
      Array.isArray(rule.match) ? [...path, "match"] : path,
      "CREMA_VALIDATION_REQUIRED",
      "a tls rule needs at least one match with sniHosts",
    );
  }
  for (const [match, i] of objects(rule.match)) {
    const at = [...path, "match", i];
    if (!Array.isArray(match.sniHosts) || match.sniHosts.length === 0) {
      ctx.error(
        Array.isArray(match.sniHosts) ? [...at, "sniHosts"] : at,
        "CREMA_VALIDATION_REQUIRED",
        "a tls match needs at least one SNI host",
      );
    } else {
      match.sniHosts.forEach((sni, j) => {
        if (typeof sni === "string") checkSniHost(ctx, [...at, "sniHosts", j], sni, vs);
      });
    }
    checkL4Match(ctx, at, match);
  }
  checkRouteRequired(ctx, path, rule, "tls");
}

export function checkTcpRoute(ctx: ValidationContext, path: FieldPath, rule: Obj): void {
  for (const [match, i] of objects(rule.match)) checkL4Match(ctx, [...path, "match", i], match);
  checkRouteRequired(ctx, path, rule, "tcp");
}
