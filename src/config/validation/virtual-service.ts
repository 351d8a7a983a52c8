// Semantic validation of VirtualService (Istio's validating-webhook rules, ValidateVirtualService):
// hosts and gateways, delegate constraints, then every http, tls and tcp rule.
import type { FieldPath } from "../diagnostic.ts";
import type { KindValidator, ValidationContext } from "./context.ts";
import { isObj, items, type Obj, objects } from "./rules.ts";
import { checkNetworkingExportTo } from "./virtual-service-common.ts";
import {
  checkGatewayNames,
  gatewayBoundDomainProblem,
  hostsOverlap,
  isIpAddress,
  isJwtClaimRoute,
  wildcardDomainProblem,
} from "./virtual-service-hosts.ts";
import { checkHttpRoute } from "./virtual-service-http.ts";
import { checkTcpRoute, checkTlsRoute } from "./virtual-service-l4.ts";

const SPEC: FieldPath = ["spec"];

function strings(value: unknown): string[] {
  return items(value)
    .map(([v]) => v)
    .filter((v): v is string => typeof v === "string");
}

function nonEmptyList(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

export const validateVirtualService: KindValidator = (spec, ctx) => {
  const hosts = strings(spec.hosts);
  const gateways = strings(spec.gateways);
  const delegate = hosts.length === 0;
  if (delegate) checkDelegateVirtualService(ctx, spec);

  const gatewayOnly = gateways.length > 0 && !gateways.includes("mesh");
  checkGatewayNames(ctx, [...SPEC, "gateways"], spec.gateways);
  if (!gatewayOnly) checkNoJwtClaimRoutes(ctx, spec);
  const sni = objects(spec.tls).some(([rule]) =>
    objects(rule.match).some(([m]) => nonEmptyList(m.sniHosts)),
  );
  checkHosts(ctx, spec.hosts, { gatewayOnly, sni });

  if (!nonEmptyList(spec.http) && !nonEmptyList(spec.tcp) && !nonEmptyList(spec.tls)) {
    ctx.error(
      SPEC,
      "CREMA_VALIDATION_REQUIRED",
      "a VirtualService needs at least one http, tls or tcp rule",
    );
  }
  for (const [rule, i] of objects(spec.http))
    checkHttpRoute(ctx, [...SPEC, "http", i], rule, { delegateVirtualService: delegate });
  for (const [rule, i] of objects(spec.tls))
    checkTlsRoute(ctx, [...SPEC, "tls", i], rule, { hosts, gatewayOnly });
  for (const [rule, i] of objects(spec.tcp)) checkTcpRoute(ctx, [...SPEC, "tcp", i], rule);
  checkNetworkingExportTo(ctx, [...SPEC, "exportTo"], spec.exportTo);
};

/** A VirtualService without hosts is a delegate: it carries http rules only, for a root to attach. */
function checkDelegateVirtualService(ctx: ValidationContext, spec: Obj): void {
  const reject = (field: string, what: string): void =>
    ctx.error(
      [...SPEC, field],
      "CREMA_VALIDATION_INVALID",
      `a VirtualService without hosts is a delegate and cannot have ${what}; add hosts, or remove ${field}`,
    );
  if (nonEmptyList(spec.gateways))
    reject("gateways", "gateways (the root VirtualService binds them)");
  if (nonEmptyList(spec.tls)) reject("tls", "tls rules");
  if (nonEmptyList(spec.tcp)) reject("tcp", "tcp rules");
}

function checkHosts(
  ctx: ValidationContext,
  value: unknown,
  { gatewayOnly, sni }: { gatewayOnly: boolean; sni: boolean },
): void {
  const path = [...SPEC, "hosts"];
  let allValid = true;
  const hosts = items(value);
  for (const [host, i] of hosts) {
    if (typeof host !== "string") continue;
    const problem = gatewayOnly
      ? gatewayBoundDomainProblem(host, sni)
      : wildcardDomainProblem(host);
    if (problem && !isIpAddress(host)) {
      ctx.error(
        [...path, i],
        "CREMA_VALIDATION_HOST",
        `invalid host ${JSON.stringify(host)}: ${problem}`,
      );
      allValid = false;
    } else if (!problem && !gatewayOnly && host === "*") {
      ctx.error(
        [...path, i],
        "CREMA_VALIDATION_HOST",
        `host "*" is only allowed for a VirtualService bound to gateways (not "mesh"); name the services`,
      );
      allValid = false;
    }
  }
  if (!allValid) return;
  for (let i = 0; i < hosts.length; i++) {
    for (let j = i + 1; j < hosts.length; j++) {
      const a = hosts[i]![0];
      const b = hosts[j]![0];
      if (typeof a === "string" && typeof b === "string" && hostsOverlap(a, b)) {
        ctx.error(
          [...path, j],
          "CREMA_VALIDATION_DUPLICATE",
          a === b
            ? `host ${JSON.stringify(b)} is listed twice`
            : `hosts ${JSON.stringify(a)} and ${JSON.stringify(b)} overlap; list each host once`,
        );
      }
    }
  }
}

/** Routing on JWT claims (`@request.auth.claims.*` header keys) works only on gateways. */
function checkNoJwtClaimRoutes(ctx: ValidationContext, spec: Obj): void {
  for (const [rule, i] of objects(spec.http)) {
    for (const [match, j] of objects(rule.match)) {
      for (const field of ["headers", "withoutHeaders"]) {
        const headers = match[field];
        if (!isObj(headers)) continue;
        for (const name of Object.keys(headers)) {
          if (!isJwtClaimRoute(name)) continue;
          ctx.error(
            [...SPEC, "http", i, "match", j, field, name],
            "CREMA_VALIDATION_INVALID",
            `JWT claim routing (${name}) works only on gateways; bind the VirtualService to a gateway, without "mesh"`,
          );
        }
      }
    }
  }
}
