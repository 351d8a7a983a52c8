// The policies a compiled route carries for the router filter (retry, hedge, mirror, hash,
// upgrade, internal redirect), decoded with Envoy's defaults; durations in ms.
import type { FractionalPercent, HeaderMatch, RegexRewrite } from "./types.ts";

export interface RetryBackOff {
  baseIntervalMs: number;
  maxIntervalMs: number;
}

export interface RetryPolicy {
  retryOn: readonly string[];
  numRetries: number;
  perTryTimeoutMs?: number;
  perTryIdleTimeoutMs?: number;
  retriableStatusCodes: readonly number[];
  retryBackOff?: RetryBackOff;
  rateLimitedRetryBackOff?: {
    resetHeaders: readonly { name: string; format: "SECONDS" | "UNIX_TIMESTAMP" }[];
    maxIntervalMs: number;
  };
  retriableHeaders: readonly HeaderMatch[];
  retriableRequestHeaders: readonly HeaderMatch[];
  hostSelectionRetryMaxAttempts: number;
  retryHostPredicates: readonly string[];
  retryPriority?: string;
}

export interface HedgePolicy {
  initialRequests: number;
  additionalRequestChance?: FractionalPercent;
  hedgeOnPerTryTimeout: boolean;
}

export interface MirrorPolicy {
  cluster?: string;
  clusterHeader?: string;
  fraction: FractionalPercent;
  traceSampled?: boolean;
  disableShadowHostSuffixAppend: boolean;
}

export type HashPolicy = { terminal: boolean } & (
  | { kind: "header"; headerName: string; regexRewrite?: RegexRewrite }
  | {
      kind: "cookie";
      name: string;
      ttlMs?: number;
      path?: string;
      attributes: readonly { name: string; value: string }[];
    }
  | { kind: "connection_properties"; sourceIp: boolean }
  | { kind: "query_parameter"; name: string }
  | { kind: "filter_state"; key: string }
);

export interface UpgradeConfig {
  upgradeType: string;
  enabled: boolean;
  connectConfig?: { allowPost: boolean };
}

export interface InternalRedirectPolicy {
  maxInternalRedirects: number;
  redirectResponseCodes: readonly number[];
  allowCrossSchemeRedirect: boolean;
  responseHeadersToCopy: readonly string[];
}
