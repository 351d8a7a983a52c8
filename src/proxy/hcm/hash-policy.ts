// A route's hash_policy → the request hash ring hash and Maglev pick by (Envoy's HashPolicyImpl):
// each policy that yields a value is hashed with xxHash64 and folded in (rotate left 1, xor);
// a terminal policy that yields a value stops the walk.

import { firstRequestHeader } from "../routing/header-matcher.ts";
import { queryParameter } from "../routing/route-match.ts";
import type { HashPolicy, RouteRequest } from "../routing/types.ts";
import { xxHash64 } from "../upstream/lb/hash.ts";

const MASK_64 = (1n << 64n) - 1n;

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function policyValue(policy: HashPolicy, req: RouteRequest): string | undefined {
  switch (policy.kind) {
    case "header": {
      const value = firstRequestHeader(req, policy.headerName);
      if (value === undefined) return undefined;
      return policy.regexRewrite ? policy.regexRewrite.replace(value) : value;
    }
    case "cookie":
      return cookieValue(firstRequestHeader(req, "cookie"), policy.name);
    case "connection_properties":
      return policy.sourceIp ? req.sourceIp : undefined;
    case "query_parameter":
      return queryParameter(req.path, policy.name);
    default:
      return undefined;
  }
}

/** The request's hash, or undefined when no policy yields a value (the LB then picks at random). */
export function requestHash(
  policies: readonly HashPolicy[],
  req: RouteRequest,
): bigint | undefined {
  let hash: bigint | undefined;
  for (const policy of policies) {
    const value = policyValue(policy, req);
    if (value === undefined) continue;
    const next = xxHash64(value);
    hash = hash === undefined ? next : (((hash << 1n) | (hash >> 63n)) & MASK_64) ^ next;
    if (policy.terminal) break;
  }
  return hash;
}
