// RequestAuthentication jwtRules read into a typed form, merged across the policies that apply to
// a workload and sorted by issuer, as istiod's newPolicyApplier does before building the filter.
import { parseDuration } from "../../../base/duration.ts";
import type { Resource } from "../../../config/resource.ts";
import type { MeshSnapshot } from "../../model/snapshot.ts";

/** istiod's JWKS fetch timeout when a rule sets none. */
export const DEFAULT_JWKS_TIMEOUT_MS = 5000;

export interface JwtRule {
  issuer: string;
  audiences: string[];
  /** "" when the rule inlines its keys or relies on OpenID discovery from the issuer. */
  jwksUri: string;
  /** Inline JWKS (JSON text); "" when absent. */
  jwks: string;
  fromHeaders: { name: string; prefix: string }[];
  fromParams: string[];
  fromCookies: string[];
  forwardOriginalToken: boolean;
  outputPayloadToHeader: string;
  outputClaimToHeaders: { header: string; claim: string }[];
  /** Undefined when the rule lists none (istiod then uses its defaults). */
  spaceDelimitedClaims?: string[];
  timeoutMs: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function timeoutOf(value: unknown): number {
  if (typeof value !== "string") return DEFAULT_JWKS_TIMEOUT_MS;
  const parsed = parseDuration(value);
  return parsed.ok && parsed.ms > 0 ? parsed.ms : DEFAULT_JWKS_TIMEOUT_MS;
}

/** One jwtRules entry (proto JSON accepts both jwksUri and jwks_uri). */
export function jwtRuleOf(raw: Record<string, unknown>): JwtRule {
  const delimited = strings(raw.spaceDelimitedClaims);
  return {
    issuer: str(raw.issuer),
    audiences: strings(raw.audiences),
    jwksUri: str(raw.jwksUri) || str(raw.jwks_uri),
    jwks: str(raw.jwks),
    fromHeaders: (Array.isArray(raw.fromHeaders) ? raw.fromHeaders : [])
      .filter(isRecord)
      .map((h) => ({ name: str(h.name), prefix: str(h.prefix) })),
    fromParams: strings(raw.fromParams),
    fromCookies: strings(raw.fromCookies),
    forwardOriginalToken: raw.forwardOriginalToken === true,
    outputPayloadToHeader: str(raw.outputPayloadToHeader),
    outputClaimToHeaders: (Array.isArray(raw.outputClaimToHeaders) ? raw.outputClaimToHeaders : [])
      .filter(isRecord)
      .map((o) => ({ header: str(o.header), claim: str(o.claim) })),
    // An empty list reads as unset, as a proto repeated field does.
    ...(delimited.length > 0 ? { spaceDelimitedClaims: delimited } : {}),
    timeoutMs: timeoutOf(raw.timeout),
  };
}

/** The rules of every policy in order, then stably sorted by issuer (istiod sorts by issuer). */
export function jwtRulesOf(policies: readonly Resource[]): JwtRule[] {
  const rules: JwtRule[] = [];
  for (const policy of policies) {
    const list = policy.spec.jwtRules;
    if (!Array.isArray(list)) continue;
    for (const raw of list) if (isRecord(raw)) rules.push(jwtRuleOf(raw));
  }
  return rules
    .map((rule, index) => ({ rule, index }))
    .sort((a, b) =>
      a.rule.issuer < b.rule.issuer ? -1 : a.rule.issuer > b.rule.issuer ? 1 : a.index - b.index,
    )
    .map((entry) => entry.rule);
}

/** A key set istiod fetches itself: by jwksUri, or by OpenID discovery when the URI is "". */
export interface JwksSource {
  issuer: string;
  jwksUri: string;
  timeoutMs: number;
}

/**
 * Every key set the control plane must fetch for `snapshot` (rules without inline jwks), once
 * each: what the JWKS resolver should have ready before the next push.
 */
export function jwksSourcesOf(snapshot: Pick<MeshSnapshot, "config">): JwksSource[] {
  const seen = new Map<string, JwksSource>();
  for (const rule of jwtRulesOf(snapshot.config.requestAuthentications)) {
    if (rule.jwks !== "") continue;
    const key = `${rule.issuer}\n${rule.jwksUri}`;
    if (!seen.has(key))
      seen.set(key, { issuer: rule.issuer, jwksUri: rule.jwksUri, timeoutMs: rule.timeoutMs });
  }
  return [...seen.values()];
}
