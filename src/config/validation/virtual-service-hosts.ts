// Istio's host-name rules as its validating webhook applies them to VirtualService hosts,
// route destinations, SNI hosts, gateway references and DestinationRule hosts
// (pkg/config/validation/agent: ValidateWildcardDomain, ValidateFQDN; pkg/config/host).
// Istio's DNS labels allow upper case; a top-level label may not be all digits.
import { isIP } from "node:net";
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";

const DNS1123_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const WILDCARD_LABEL = /^(?:\*|(?:\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;

/** Istio's `labels.IsDNS1123Label`: 1–63 letters (either case), digits and inner '-'. */
export function isIstioDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

function preconditionProblem(name: string): string | undefined {
  if (name.length > 255) return "host names are at most 255 characters";
  if (name.length === 0) return "an empty host name is not allowed";
  return undefined;
}

function labelsProblem(domain: string): string | undefined {
  const parts = domain.split(".");
  const top = parts.at(-1)!;
  if (/^[+-]?\d+$/.test(top))
    return `the top-level label ${JSON.stringify(top)} cannot be all digits`;
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i]!;
    if (i === parts.length - 1 && label === "") return undefined; // "istio.io." is unambiguous
    if (!isIstioDnsLabel(label))
      return `${JSON.stringify(label)} is not a valid DNS label (letters, digits and inner '-', at most 63 characters)`;
  }
  return undefined;
}

/** `ValidateFQDN`: a DNS name without wildcards. */
export function fqdnProblem(name: string): string | undefined {
  return preconditionProblem(name) ?? labelsProblem(name);
}

/**
 * `ValidateWildcardDomain`: a DNS name whose first label may be `*`, `*suffix` or `*-suffix`
 * (so `*`, `*.example.com` and short names such as `reviews` are valid).
 */
export function wildcardDomainProblem(name: string): string | undefined {
  const pre = preconditionProblem(name);
  if (pre) return pre;
  const dot = name.indexOf(".");
  const first = dot < 0 ? name : name.slice(0, dot);
  if (first.length > 63 || !WILDCARD_LABEL.test(first))
    return first.includes("*") && first !== "*"
      ? `${JSON.stringify(first)}: a wildcard may only be a leading '*' of the first label`
      : `${JSON.stringify(first)} is not a valid DNS label (letters, digits and inner '-', at most 63 characters)`;
  return dot < 0 ? undefined : labelsProblem(name.slice(dot + 1));
}

/** The same check for hosts of a VirtualService bound to gateways (allows `outbound_` SNI names). */
export function gatewayBoundDomainProblem(name: string, sni: boolean): string | undefined {
  if (sni && name.split(".", 1)[0] === "outbound_") {
    return /outbound_.([0-8].*).*/.test(name)
      ? undefined
      : `${JSON.stringify(name)} is not a valid generated outbound_ SNI name`;
  }
  return wildcardDomainProblem(name);
}

export function isIpAddress(value: string): boolean {
  return isIP(value) !== 0;
}

/** `host.Name.Matches`: the two hosts (either may be a wildcard) overlap. */
export function hostsOverlap(a: string, b: string): boolean {
  const aWild = a.startsWith("*");
  const bWild = b.startsWith("*");
  if (aWild && bWild)
    return a.length < b.length ? b.slice(1).endsWith(a.slice(1)) : a.slice(1).endsWith(b.slice(1));
  if (aWild) return b.endsWith(a.slice(1));
  if (bWild) return a.endsWith(b.slice(1));
  return a === b;
}

/** `host.Name.SubsetOf`: every name `host` matches is also matched by `of`. */
export function hostSubsetOf(host: string, of: string): boolean {
  const hWild = host.startsWith("*");
  const oWild = of.startsWith("*");
  if (hWild) return oWild && host.length >= of.length && host.slice(1).endsWith(of.slice(1));
  if (oWild) return host.endsWith(of.slice(1));
  return host === of;
}

const JWT_CLAIM_PREFIX = "@request.auth.claims";

/** `jwt.ToRoutingClaim(name).Match`: `@request.auth.claims.a.b` or `@request.auth.claims[a][b]`. */
export function isJwtClaimRoute(name: string): boolean {
  if (!name.toLowerCase().startsWith(JWT_CLAIM_PREFIX)) return false;
  const rest = name.slice(JWT_CLAIM_PREFIX.length);
  if (rest.startsWith("."))
    return rest
      .slice(1)
      .split(".")
      .every((part) => part !== "");
  return /^(\[[^[\]]+\])+$/.test(rest);
}

/**
 * Gateway references (`validateGatewayNames`): `mesh`, `name`, `namespace/name`; the legacy
 * `name.namespace` form still works but draws a deprecation warning.
 */
export function checkGatewayNames(ctx: ValidationContext, path: FieldPath, value: unknown): void {
  if (!Array.isArray(value)) return;
  value.forEach((entry, i) => {
    if (typeof entry !== "string") return;
    const at = [...path, i];
    const slash = entry.indexOf("/");
    if (slash < 0) {
      const problem = fqdnProblem(entry);
      if (problem) {
        ctx.error(
          at,
          "CREMA_VALIDATION_NAME",
          `invalid gateway reference ${JSON.stringify(entry)}: ${problem}; write "mesh", "name" or "namespace/name"`,
        );
      } else if (entry.includes(".")) {
        const [name, namespace] = entry.split(".");
        ctx.warn(
          at,
          "CREMA_VALIDATION_DEPRECATED",
          `gateway reference ${JSON.stringify(entry)} uses the legacy name.namespace form; write "${namespace}/${name}"`,
        );
      }
      return;
    }
    const namespace = entry.slice(0, slash);
    const name = entry.slice(slash + 1);
    if (namespace === "" || name === "") {
      ctx.error(
        at,
        "CREMA_VALIDATION_NAME",
        `gateway reference ${JSON.stringify(entry)} needs both a namespace and a name ("namespace/name")`,
      );
    } else if (!isIstioDnsLabel(namespace)) {
      ctx.error(
        at,
        "CREMA_VALIDATION_NAME",
        `gateway reference ${JSON.stringify(entry)}: namespace ${JSON.stringify(namespace)} is not a valid DNS label`,
      );
    } else if (!isIstioDnsLabel(name)) {
      ctx.error(
        at,
        "CREMA_VALIDATION_NAME",
        `gateway reference ${JSON.stringify(entry)}: gateway name ${JSON.stringify(name)} is not a valid DNS label`,
      );
    }
  });
}
