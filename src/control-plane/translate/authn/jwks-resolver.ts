// The control plane's JWKS resolver (istiod's pilot/pkg/model/jwks_resolver.go): fetches the key
// sets that RequestAuthentication rules name by jwksUri (or by OpenID discovery from the issuer),
// caches them, refreshes them periodically and asks for a push when one changes. Translation only
// reads it (lookup); fetching happens here, at the edge, so a slow issuer never blocks a push —
// until a key set arrives, translation inlines istiod's fake key set and every token is rejected.
import { type Clock, systemClock, type TimerHandle } from "../../../base/clock.ts";
import type { JwksLookup } from "./jwt-authn-filter.ts";
import { DEFAULT_JWKS_TIMEOUT_MS, type JwksSource } from "./jwt-rules.ts";

const OPENID_DISCOVERY_SUFFIX = "/.well-known/openid-configuration";
const MINUTE = 60_000;

/**
 * Fetches a URL's body as text; rejects on a non-2xx answer, a network error, the timeout or
 * `signal` (the resolver stopped).
 */
export type JwksFetchText = (
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
) => Promise<string>;

export interface JwksResolverOptions {
  clock?: Clock;
  fetchText?: JwksFetchText;
  /** Refresh period while fetches succeed (istiod: PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, 20 min). */
  refreshIntervalMs?: number;
  /** Period after a failed refresh, doubled while failures last (istiod: 1 min). */
  refreshIntervalOnFailureMs?: number;
  /** Cap of the doubled failure period (istiod: 60 min). */
  maxRefreshIntervalOnFailureMs?: number;
  /** An entry unused, or not refreshed successfully, for this long is dropped (istiod: 7 days). */
  evictionMs?: number;
  /** Retries of a failed refresh fetch, and the pause between them (istiod: 7, 1 s). */
  refreshRetries?: number;
  retryIntervalMs?: number;
  /** Called when a key set arrives or changes: the control plane should push. */
  onChange?: () => void;
  /** Fetch failures, for the log. */
  onError?: (message: string) => void;
}

interface Entry {
  issuer: string;
  /** As configured; "" means OpenID discovery from the issuer. */
  jwksUri: string;
  timeoutMs: number;
  /** The key set text; "" while none has been fetched. */
  pubKey: string;
  lastRefreshed: number;
  lastUsed: number;
  /** A translation inlined the fake key set for this entry: push once the real one arrives. */
  servedFake: boolean;
  inflight?: Promise<void>;
}

const keyOf = (issuer: string, jwksUri: string) => `${issuer}\n${jwksUri}`;

/** Node's fetch with a timeout; the error text as istiod's ("status 404, message ..."). */
export const defaultFetchText: JwksFetchText = async (url, timeoutMs, signal) => {
  const response = await fetch(url, {
    signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]),
  });
  const body = await response.text();
  if (response.status < 200 || response.status >= 300) {
    const message = JSON.stringify(body);
    throw new Error(
      message.length > 100
        ? `status ${response.status}, message ${message.slice(0, 100)}(truncated)`
        : `status ${response.status}, message ${message}`,
    );
  }
  return body;
};

/** istiod's compareJWKSResponse: whether a refreshed key set differs (keys compared by kid). */
export function jwksChanged(oldText: string, newText: string): boolean {
  if (oldText === newText) return false;
  const newJwks = JSON.parse(newText) as unknown; // throws: an unparseable key set is an error
  let oldJwks: unknown;
  try {
    oldJwks = JSON.parse(oldText);
  } catch {
    return true;
  }
  const keysOf = (jwks: unknown) =>
    typeof jwks === "object" && jwks !== null && Array.isArray((jwks as { keys?: unknown }).keys)
      ? ((jwks as { keys: unknown[] }).keys as unknown[])
      : undefined;
  const oldKeys = keysOf(oldJwks);
  const newKeys = keysOf(newJwks);
  if (!oldKeys || !newKeys) return true;
  const kid = (key: unknown) =>
    typeof key === "object" && key !== null && typeof (key as { kid?: unknown }).kid === "string"
      ? ((key as { kid: string }).kid as string)
      : "";
  const canonical = (keys: unknown[]) =>
    JSON.stringify([...keys].sort((a, b) => (kid(a) < kid(b) ? -1 : kid(a) > kid(b) ? 1 : 0)));
  return canonical(oldKeys) !== canonical(newKeys);
}

export class JwksResolver implements JwksLookup {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly fetchText: JwksFetchText;
  private readonly refreshIntervalMs: number;
  private readonly refreshIntervalOnFailureMs: number;
  private readonly maxRefreshIntervalOnFailureMs: number;
  private readonly evictionMs: number;
  private readonly refreshRetries: number;
  private readonly retryIntervalMs: number;
  private readonly onChange: () => void;
  private readonly onError: (message: string) => void;
  private timer: TimerHandle | undefined;
  private started = false;
  private nextIntervalMs: number;
  private lastRefreshFailed = false;
  private refreshing: Promise<boolean> | undefined;
  /** Aborted by stop(): fetches in flight end, and their retries are not made. */
  private stopping = new AbortController();

  constructor(options: JwksResolverOptions = {}) {
    this.clock = options.clock ?? systemClock();
    this.fetchText = options.fetchText ?? defaultFetchText;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 20 * MINUTE;
    this.refreshIntervalOnFailureMs = options.refreshIntervalOnFailureMs ?? MINUTE;
    this.maxRefreshIntervalOnFailureMs = options.maxRefreshIntervalOnFailureMs ?? 60 * MINUTE;
    this.evictionMs = options.evictionMs ?? 7 * 24 * 60 * MINUTE;
    this.refreshRetries = options.refreshRetries ?? 7;
    this.retryIntervalMs = options.retryIntervalMs ?? 1000;
    this.onChange = options.onChange ?? (() => {});
    this.onError = options.onError ?? (() => {});
    this.nextIntervalMs = this.refreshIntervalMs;
  }

  /**
   * The fetched key set, or undefined (translation then inlines the fake one). A miss starts a
   * fetch in the background; its success asks for a push.
   */
  lookup(issuer: string, jwksUri: string): string | undefined {
    const key = keyOf(issuer, jwksUri);
    let entry = this.entries.get(key);
    entry ??= this.track({ issuer, jwksUri, timeoutMs: DEFAULT_JWKS_TIMEOUT_MS });
    entry.lastUsed = this.clock.now();
    if (entry.pubKey === "") {
      entry.servedFake = true;
      return undefined;
    }
    return entry.pubKey;
  }

  /**
   * Starts fetching every source not yet known and resolves once those fetches have settled
   * (each bounded by its rule's timeout). Awaiting it before a push mirrors istiod, which fetches
   * a new jwksUri inside the push; it never rejects.
   */
  async ensure(sources: readonly JwksSource[]): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const source of sources) {
      const entry = this.entries.get(keyOf(source.issuer, source.jwksUri)) ?? this.track(source);
      entry.lastUsed = this.clock.now();
      if (entry.inflight) waits.push(entry.inflight);
    }
    await Promise.all(waits);
  }

  /** Starts the periodic refresh. */
  start(): void {
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    this.started = true;
    this.schedule();
  }

  /**
   * Stops the refresh and ends every fetch in flight, retries included: a control plane that
   * closes must not be kept alive by an issuer that does not answer.
   */
  stop(): void {
    this.started = false;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.stopping.abort();
  }

  /** Known entries (issuer, jwksUri, whether a key set is held), for debugging and tests. */
  entriesView(): { issuer: string; jwksUri: string; fetched: boolean }[] {
    return [...this.entries.values()].map((e) => ({
      issuer: e.issuer,
      jwksUri: e.jwksUri,
      fetched: e.pubKey !== "",
    }));
  }

  /**
   * One refresh pass (istiod's refresh): drops entries unused or unrefreshed for the eviction
   * period, refetches the others with retries, and asks for one push if any key set changed.
   * `onlyMissing` refetches only entries still without a key set (istiod's background retry after
   * a failed first fetch). Resolves whether any fetch failed.
   */
  refresh(onlyMissing = false): Promise<boolean> {
    this.refreshing ??= this.refreshOnce(onlyMissing).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private track(source: JwksSource): Entry {
    const now = this.clock.now();
    const entry: Entry = {
      issuer: source.issuer,
      jwksUri: source.jwksUri,
      timeoutMs: source.timeoutMs,
      pubKey: "",
      lastRefreshed: now,
      lastUsed: now,
      servedFake: false,
    };
    this.entries.set(keyOf(source.issuer, source.jwksUri), entry);
    // istiod's main flow: one attempt, no retries, so a push is never held up for long.
    entry.inflight = this.fetchKeySet(entry, 0).then(
      (text) => {
        entry.inflight = undefined;
        entry.pubKey = text;
        entry.lastRefreshed = this.clock.now();
        if (text !== "" && entry.servedFake) {
          entry.servedFake = false;
          this.onChange();
        }
      },
      (error: unknown) => {
        entry.inflight = undefined;
        if (this.stopping.signal.aborted) return;
        this.onError(`cannot fetch JWKS for issuer ${source.issuer}: ${messageOf(error)}`);
        // istiod retries a failed first fetch in the background at once.
        void this.refresh(true);
      },
    );
    return entry;
  }

  private async refreshOnce(onlyMissing: boolean): Promise<boolean> {
    const now = this.clock.now();
    let changed = false;
    let failed = false;
    const work: Promise<void>[] = [];
    for (const [key, entry] of this.entries) {
      if (now - entry.lastUsed >= this.evictionMs || now - entry.lastRefreshed >= this.evictionMs) {
        this.entries.delete(key);
        continue;
      }
      if (entry.inflight || (onlyMissing && entry.pubKey !== "")) continue;
      work.push(
        this.fetchKeySet(entry, this.refreshRetries).then(
          (text) => {
            const old = entry.pubKey;
            entry.pubKey = text;
            entry.lastRefreshed = this.clock.now();
            try {
              if (jwksChanged(old, text)) changed = true;
            } catch (error) {
              failed = true;
              this.onError(`JWKS for issuer ${entry.issuer} is not JSON: ${messageOf(error)}`);
            }
            if (old === "" && text !== "") entry.servedFake = false;
          },
          (error: unknown) => {
            // Unlike istiod (which forgets a never-fetched entry and refetches on the next push),
            // the entry stays so that this refresher keeps retrying with back-off.
            failed = true;
            if (!this.stopping.signal.aborted)
              this.onError(`cannot refresh JWKS for issuer ${entry.issuer}: ${messageOf(error)}`);
          },
        ),
      );
    }
    await Promise.all(work);
    if (changed) this.onChange();
    this.nextIntervalMs = failed
      ? this.lastRefreshFailed
        ? Math.min(this.nextIntervalMs * 2, this.maxRefreshIntervalOnFailureMs)
        : this.refreshIntervalOnFailureMs
      : this.refreshIntervalMs;
    this.lastRefreshFailed = failed;
    // Like istiod's ticker reset: the next periodic pass counts from the end of this one.
    if (this.started) this.schedule();
    return failed;
  }

  private schedule(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, this.nextIntervalMs);
  }

  /** Resolves the URI (OpenID discovery when empty) and fetches, retrying `retries` times. */
  private async fetchKeySet(entry: Entry, retries: number): Promise<string> {
    const uri = entry.jwksUri || (await this.discover(entry, retries));
    return this.withRetries((signal) => this.fetchText(uri, entry.timeoutMs, signal), retries);
  }

  private async discover(entry: Entry, retries: number): Promise<string> {
    const text = await this.withRetries(
      (signal) =>
        this.fetchText(`${entry.issuer}${OPENID_DISCOVERY_SUFFIX}`, entry.timeoutMs, signal),
      retries,
    );
    const data = JSON.parse(text) as { jwks_uri?: unknown };
    if (typeof data.jwks_uri !== "string") {
      throw new Error(`invalid jwks_uri ${JSON.stringify(data.jwks_uri)} in OpenID discovery`);
    }
    return data.jwks_uri;
  }

  private async withRetries(
    attempt: (signal: AbortSignal) => Promise<string>,
    retries: number,
  ): Promise<string> {
    const { signal } = this.stopping;
    for (let i = 0; i < retries; i++) {
      signal.throwIfAborted();
      try {
        return await attempt(signal);
      } catch {
        await this.pause(signal);
      }
    }
    signal.throwIfAborted();
    return attempt(signal);
  }

  /** The pause between retries, cut short by stop(). */
  private pause(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.clock.clearTimeout(timer);
        resolve();
      };
      const timer = this.clock.setTimeout(() => {
        signal.removeEventListener("abort", done);
        resolve();
      }, this.retryIntervalMs);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
