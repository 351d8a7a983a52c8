import { describe, expect, it } from "vitest";
import { manualClock } from "../../../base/clock.ts";
import { JwksResolver, jwksChanged } from "./jwks-resolver.ts";

const KEYS_A = '{"keys":[{"kid":"a","kty":"RSA"},{"kid":"b","kty":"RSA"}]}';
const KEYS_A_REORDERED = '{"keys":[{"kid":"b","kty":"RSA"},{"kid":"a","kty":"RSA"}]}';
const KEYS_C = '{"keys":[{"kid":"c","kty":"RSA"}]}';

/** A fake HTTP origin: answers by URL, records requests, and lets a test change answers. */
function origin(answers: Record<string, string | Error>) {
  const requests: { url: string; timeoutMs: number }[] = [];
  return {
    requests,
    answers,
    fetchText: async (url: string, timeoutMs: number) => {
      requests.push({ url, timeoutMs });
      const answer = answers[url];
      if (answer === undefined) throw new Error('status 404, message ""');
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("JwksResolver", () => {
  it("fetches on ensure with the rule's timeout, then serves the key set", async () => {
    const server = origin({ "https://i/keys": KEYS_A });
    const resolver = new JwksResolver({ clock: manualClock(), fetchText: server.fetchText });
    expect(resolver.lookup("i", "https://i/keys")).toBeUndefined();
    await resolver.ensure([{ issuer: "i", jwksUri: "https://i/keys", timeoutMs: 2000 }]);
    expect(resolver.lookup("i", "https://i/keys")).toBe(KEYS_A);
    // The lookup miss already started a fetch (default 5 s timeout); ensure waited for it.
    expect(server.requests).toEqual([{ url: "https://i/keys", timeoutMs: 5000 }]);
  });

  it("asks for a push when a key set arrives after translation served the fake one", async () => {
    const server = origin({ "https://i/keys": KEYS_A });
    let pushes = 0;
    const resolver = new JwksResolver({
      clock: manualClock(),
      fetchText: server.fetchText,
      onChange: () => pushes++,
    });
    expect(resolver.lookup("i", "https://i/keys")).toBeUndefined();
    await flush();
    expect(pushes).toBe(1);
    expect(resolver.lookup("i", "https://i/keys")).toBe(KEYS_A);
  });

  it("does not push for a key set fetched before any translation used it", async () => {
    const server = origin({ "https://i/keys": KEYS_A });
    let pushes = 0;
    const resolver = new JwksResolver({
      clock: manualClock(),
      fetchText: server.fetchText,
      onChange: () => pushes++,
    });
    await resolver.ensure([{ issuer: "i", jwksUri: "https://i/keys", timeoutMs: 5000 }]);
    expect(pushes).toBe(0);
  });

  it("discovers the jwks_uri from the issuer's OpenID configuration when none is given", async () => {
    const server = origin({
      "https://issuer.example/.well-known/openid-configuration": JSON.stringify({
        jwks_uri: "https://issuer.example/certs",
      }),
      "https://issuer.example/certs": KEYS_C,
    });
    const resolver = new JwksResolver({ clock: manualClock(), fetchText: server.fetchText });
    await resolver.ensure([{ issuer: "https://issuer.example", jwksUri: "", timeoutMs: 5000 }]);
    expect(resolver.lookup("https://issuer.example", "")).toBe(KEYS_C);
  });

  it("keeps serving nothing (so the fake key set) after a failed fetch, and reports it", async () => {
    const errors: string[] = [];
    const server = origin({});
    const resolver = new JwksResolver({
      clock: manualClock(),
      fetchText: server.fetchText,
      refreshRetries: 0,
      onError: (m) => errors.push(m),
    });
    await resolver.ensure([{ issuer: "i", jwksUri: "https://i/keys", timeoutMs: 5000 }]);
    await flush();
    expect(resolver.lookup("i", "https://i/keys")).toBeUndefined();
    expect(errors[0]).toBe('cannot fetch JWKS for issuer i: status 404, message ""');
  });

  it("refreshes periodically, pushes only when keys really change, backs off on failure", async () => {
    const clock = manualClock();
    const server = origin({ "https://i/keys": KEYS_A });
    let pushes = 0;
    const resolver = new JwksResolver({
      clock,
      fetchText: server.fetchText,
      refreshRetries: 0,
      onChange: () => pushes++,
    });
    await resolver.ensure([{ issuer: "i", jwksUri: "https://i/keys", timeoutMs: 5000 }]);
    resolver.start();

    server.answers["https://i/keys"] = KEYS_A_REORDERED;
    clock.advance(20 * 60_000);
    await flush();
    expect(server.requests).toHaveLength(2);
    expect(pushes).toBe(0);

    server.answers["https://i/keys"] = KEYS_C;
    clock.advance(20 * 60_000);
    await flush();
    expect(pushes).toBe(1);
    expect(resolver.lookup("i", "https://i/keys")).toBe(KEYS_C);

    server.answers["https://i/keys"] = new Error("connection refused");
    clock.advance(20 * 60_000);
    await flush();
    expect(server.requests).toHaveLength(4);
    // After a failure: 1 minute, then doubling.
    clock.advance(60_000);
    await flush();
    expect(server.requests).toHaveLength(5);
    clock.advance(60_000);
    await flush();
    expect(server.requests).toHaveLength(5);
    clock.advance(60_000);
    await flush();
    expect(server.requests).toHaveLength(6);
    // The last good key set is still served while refreshes fail.
    expect(resolver.lookup("i", "https://i/keys")).toBe(KEYS_C);
    resolver.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it("stop() ends a fetch in flight and the retries still to come, quietly", async () => {
    const clock = manualClock();
    const errors: string[] = [];
    const requests: string[] = [];
    // An issuer that never answers: each fetch ends only when its signal aborts.
    const fetchText = (url: string, _timeoutMs: number, signal: AbortSignal) => {
      requests.push(url);
      return new Promise<string>((_resolve, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
      );
    };
    const resolver = new JwksResolver({ clock, fetchText, onError: (m) => errors.push(m) });
    resolver.start();
    const first = resolver.ensure([{ issuer: "i", jwksUri: "https://i/keys", timeoutMs: 5000 }]);
    resolver.stop();
    await first;
    await flush();
    expect(requests).toEqual(["https://i/keys"]);
    expect(errors).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("stop() cuts the pause between a refresh's retries", async () => {
    const clock = manualClock();
    const errors: string[] = [];
    const server = origin({ "https://i/keys": new Error("connection refused") });
    const resolver = new JwksResolver({
      clock,
      fetchText: server.fetchText,
      onError: (m) => errors.push(m),
    });
    resolver.start();
    await resolver.ensure([{ issuer: "i", jwksUri: "https://i/keys", timeoutMs: 5000 }]);
    // The failed first fetch started a background refresh with 7 retries, a second apart.
    await flush();
    const requestsBefore = server.requests.length;
    const refreshing = resolver.refresh();
    resolver.stop();
    await expect(refreshing).resolves.toBe(true);
    clock.advance(60_000);
    await flush();
    expect(server.requests).toHaveLength(requestsBefore);
    expect(errors).toEqual(["cannot fetch JWKS for issuer i: connection refused"]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("evicts entries unused for the eviction period", async () => {
    const clock = manualClock();
    const server = origin({ "https://i/keys": KEYS_A });
    const resolver = new JwksResolver({ clock, fetchText: server.fetchText, evictionMs: 1000 });
    await resolver.ensure([{ issuer: "i", jwksUri: "https://i/keys", timeoutMs: 5000 }]);
    clock.advance(1000);
    await resolver.refresh();
    expect(resolver.entriesView()).toEqual([]);
  });
});

describe("jwksChanged (istiod's compareJWKSResponse)", () => {
  it("compares keys by kid, not by order or text", () => {
    expect(jwksChanged(KEYS_A, KEYS_A)).toBe(false);
    expect(jwksChanged(KEYS_A, KEYS_A_REORDERED)).toBe(false);
    expect(jwksChanged(KEYS_A, KEYS_C)).toBe(true);
    expect(jwksChanged("not json", KEYS_A)).toBe(true);
    expect(() => jwksChanged(KEYS_A, "not json")).toThrow();
  });
});
