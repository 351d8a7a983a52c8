// The key set each provider verifies with: local_jwks as decoded, remote_jwks fetched through the
// host's fetcher on first use and cached for cache_duration (Envoy's JwksCache); a failed fetch or
// an unusable fetched set is "Jwks remote fetch is failed".
import { type Jwks, parseJwks } from "./jwks.ts";
import type { JwtProviderConfig } from "./jwt-authn-config.ts";
import type { JwtStatus } from "./jwt-status.ts";

/** Fetches a remote key set through the named cluster; rejects on failure or timeout. */
export type JwksFetcher = (request: {
  uri: string;
  cluster: string;
  timeoutMs: number;
}) => Promise<string>;

interface Cached {
  jwks?: Jwks;
  expiresAt: number;
  inflight?: Promise<Jwks | JwtStatus>;
}

export class KeySets {
  private readonly cache = new Map<string, Cached>();
  private readonly now: () => number;
  private readonly fetcher: JwksFetcher | undefined;

  constructor(now: () => number, fetcher?: JwksFetcher) {
    this.now = now;
    this.fetcher = fetcher;
  }

  /** The provider's usable key set, or the status that fails its tokens. */
  async keysFor(provider: JwtProviderConfig): Promise<Jwks | JwtStatus> {
    const source = provider.jwks;
    if (source.kind === "local")
      return source.jwks.status === "Ok" ? source.jwks : "JwksNoValidKeys";
    let cached = this.cache.get(provider.name);
    if (cached?.jwks && this.now() < cached.expiresAt) return cached.jwks;
    if (cached?.inflight) return cached.inflight;
    if (!this.fetcher) return "JwksFetchFail";
    cached ??= { expiresAt: 0 };
    this.cache.set(provider.name, cached);
    const entry = cached;
    entry.inflight = this.fetcher({
      uri: source.uri,
      cluster: source.cluster,
      timeoutMs: source.timeoutMs,
    }).then(
      (text): Jwks | JwtStatus => {
        entry.inflight = undefined;
        const jwks = parseJwks(text);
        if (jwks.status !== "Ok") return "JwksFetchFail";
        entry.jwks = jwks;
        entry.expiresAt = this.now() + source.cacheDurationMs;
        return jwks;
      },
      (): JwtStatus => {
        entry.inflight = undefined;
        return "JwksFetchFail";
      },
    );
    return entry.inflight;
  }
}
