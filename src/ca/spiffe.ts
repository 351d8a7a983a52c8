// SPIFFE workload identities as Istio writes them: spiffe://<trust-domain>/ns/<namespace>/sa/<sa>.
// Build/parse pair, plus the comparison the CA makes when a CSR asks for an identity.
import { CremaError } from "../base/errors.ts";

export const DEFAULT_TRUST_DOMAIN = "cluster.local";

/** Who a caller is, as an authenticator proves it: a Kubernetes service account. */
export interface CallerIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface SpiffeIdentity extends CallerIdentity {
  readonly trustDomain: string;
}

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

function validSegment(value: string): boolean {
  return SEGMENT.test(value) && value !== "." && value !== "..";
}

/** Why a trust domain, namespace or service account cannot form a SPIFFE ID; undefined if it can. */
export function invalidIdentityReason(identity: SpiffeIdentity): string | undefined {
  if (!TRUST_DOMAIN.test(identity.trustDomain)) {
    return `trust domain '${identity.trustDomain}' must be lower-case letters, digits, '.', '-' or '_'`;
  }
  if (!validSegment(identity.namespace)) {
    return `namespace '${identity.namespace}' is not a valid SPIFFE path segment`;
  }
  if (!validSegment(identity.serviceAccount)) {
    return `service account '${identity.serviceAccount}' is not a valid SPIFFE path segment`;
  }
  return undefined;
}

/** spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>; throws CREMA_CA_INVALID_IDENTITY. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  const reason = invalidIdentityReason({ trustDomain, namespace, serviceAccount });
  if (reason) throw new CremaError("CREMA_CA_INVALID_IDENTITY", reason);
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

const SPIFFE_WORKLOAD = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** The parts of an Istio workload SPIFFE ID; undefined for anything else. */
export function parseSpiffeId(uri: string): SpiffeIdentity | undefined {
  const match = SPIFFE_WORKLOAD.exec(uri);
  if (!match) return undefined;
  const identity = { trustDomain: match[1]!, namespace: match[2]!, serviceAccount: match[3]! };
  return invalidIdentityReason(identity) ? undefined : identity;
}

/**
 * Whether a requested SPIFFE ID names the caller: same namespace and service account, in the
 * mesh's trust domain or one of its aliases (meshConfig.trustDomainAliases).
 */
export function identityMatches(
  requested: string,
  caller: CallerIdentity,
  trustDomains: readonly string[],
): boolean {
  const parsed = parseSpiffeId(requested);
  return (
    parsed !== undefined &&
    parsed.namespace === caller.namespace &&
    parsed.serviceAccount === caller.serviceAccount &&
    trustDomains.includes(parsed.trustDomain)
  );
}
