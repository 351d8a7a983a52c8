// Envoy's jwt_authn requirement verifiers (verifier.cc): a provider requirement verifies the
// tokens in its provider's locations; requires_all stops at the first failure; requires_any stops
// at the first success, otherwise reports the most telling failure (anything over "issuer is not
// configured" over "missing"), forgiven by allow_missing when nothing was found at all.

import { authenticate, type VerifyContext } from "./authenticator.ts";
import type { JwtProviderConfig, JwtRequirement } from "./jwt-authn-config.ts";
import type { JwtStatus } from "./jwt-status.ts";
import type { KeySets } from "./key-sets.ts";
import { TokenExtractor } from "./token-extractor.ts";

export interface VerifierEnv {
  providers: ReadonlyMap<string, JwtProviderConfig>;
  keySets: KeySets;
  /** Extractors by provider name, and "" for all providers together. */
  extractors: Map<string, TokenExtractor>;
}

function extractorFor(env: VerifierEnv, provider: JwtProviderConfig | undefined): TokenExtractor {
  const key = provider?.name ?? "";
  let extractor = env.extractors.get(key);
  if (!extractor) {
    extractor = new TokenExtractor(provider ? [provider] : [...env.providers.values()]);
    env.extractors.set(key, extractor);
  }
  return extractor;
}

async function verifyTokens(
  ctx: VerifyContext,
  env: VerifierEnv,
  options: { provider?: JwtProviderConfig; audiences?: readonly string[]; allowFailed: boolean },
): Promise<JwtStatus> {
  const extractor = extractorFor(env, options.provider);
  // Headers the filter writes are never taken from the client.
  for (const name of extractor.headersToSanitize) delete ctx.headers[name];
  return authenticate(ctx, extractor.extract(ctx.headers, ctx.path), {
    ...options,
    providers: [...env.providers.values()],
    allowMissing: !options.provider,
    keySets: env.keySets,
  });
}

/** Aggregates the failures of requires_any's children (Envoy's AnyVerifierImpl). */
function anyFailure(statuses: readonly JwtStatus[]): JwtStatus {
  let final: JwtStatus = "JwtMissed";
  for (const status of statuses) {
    if ((status !== "JwtMissed" && status !== "JwtUnknownIssuer") || final === "JwtMissed")
      final = status;
  }
  return final;
}

export async function verifyRequirement(
  requirement: JwtRequirement,
  ctx: VerifyContext,
  env: VerifierEnv,
): Promise<JwtStatus> {
  switch (requirement.type) {
    case "allow_all":
      return "Ok";
    case "provider": {
      const provider = env.providers.get(requirement.provider);
      if (!provider) return "JwtUnknownIssuer"; // the decoder rejects such configs
      return verifyTokens(ctx, env, {
        provider,
        ...(requirement.audiences?.length ? { audiences: requirement.audiences } : {}),
        allowFailed: false,
      });
    }
    case "allow_missing":
      return verifyTokens(ctx, env, { allowFailed: false });
    case "allow_missing_or_failed":
      return verifyTokens(ctx, env, { allowFailed: true });
    case "all":
      for (const child of requirement.requirements) {
        const status = await verifyRequirement(child, ctx, env);
        if (status !== "Ok") return status;
      }
      return "Ok";
    case "any": {
      const bypass = (type: string) => requirement.requirements.some((r) => r.type === type);
      const allowMissingOrFailed = bypass("allow_missing_or_failed");
      const allowMissing = bypass("allow_missing");
      let children: JwtRequirement[] = requirement.requirements.filter(
        (r) => r.type !== "allow_missing" && r.type !== "allow_missing_or_failed",
      );
      if (children.length === 0 && (allowMissing || allowMissingOrFailed)) {
        children = [{ type: allowMissingOrFailed ? "allow_missing_or_failed" : "allow_missing" }];
      }
      const statuses: JwtStatus[] = [];
      for (const child of children) {
        const status = await verifyRequirement(child, ctx, env);
        if (status === "Ok") return "Ok";
        statuses.push(status);
      }
      const final = anyFailure(statuses);
      if (allowMissingOrFailed) return "Ok";
      if (allowMissing && final === "JwtMissed") return "Ok";
      return final;
    }
  }
}
