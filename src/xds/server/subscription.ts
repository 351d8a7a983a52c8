// Which resources of one type a stream subscribed to, with the xDS wildcard rules (legacy and "*").
import { createHash } from "node:crypto";
import type { SubscriptionView } from "./types.ts";

export const WILDCARD = "*";

/** A SotW subscription's names, shared by every stream that asked for exactly these. */
interface SharedNames {
  readonly names: ReadonlySet<string>;
  /** The names in the order the first stream asked for them (the order ACKs repeat). */
  readonly asked: readonly string[];
}

/*
 * A thousand sidecars each asking for the same thousand EDS clusters would otherwise hold a
 * thousand copies of the names (and of their rendering in key()). Shared sets are found by the
 * digest of their content and live as long as a subscription holds them.
 */
const sharedNames = new Map<string, WeakRef<SharedNames>>();
const forgetShared = new FinalizationRegistry<string>((digest) => {
  if (sharedNames.get(digest)?.deref() === undefined) sharedNames.delete(digest);
});

function shareNames(digest: string, names: readonly string[], asked: readonly string[]) {
  const existing = sharedNames.get(digest)?.deref();
  if (existing) return existing;
  const created: SharedNames = { names: new Set(names), asked };
  sharedNames.set(digest, new WeakRef(created));
  forgetShared.register(created, digest);
  return created;
}

/** The rendering key() returns: wildcard flag and sorted names, digested (names may be many). */
function digestOf(wildcard: boolean, sortedNames: readonly string[]): string {
  const text = `${wildcard ? "*" : "-"}|${sortedNames.join("\n")}`;
  return createHash("sha256").update(text).digest("base64");
}

/**
 * Wildcard rules (Envoy's xDS protocol spec, "How the client specifies what resources to
 * return"): for wildcard-capable types (LDS, CDS), a client that has never named a resource is
 * subscribed to everything ("legacy wildcard"); naming "*" subscribes to everything explicitly.
 * Once a client names anything, the legacy meaning is gone and an empty list means "nothing".
 * Other types are never wildcard: "*" there is just a name.
 */
export class Subscription implements SubscriptionView {
  wildcard = false;
  /** SotW: a shared set (replaced, never changed); delta: this subscription's own. */
  #names: Set<string> | ReadonlySet<string> = new Set<string>();
  #shared: SharedNames | undefined;
  /** The client has named a resource (or "*") on this stream. */
  #explicit = false;
  /** key(), until the subscription changes (sorting every name on every push adds up). */
  #key: string | undefined;
  /** The names of the last SotW request: an ACK usually repeats them exactly. */
  #lastNames: readonly string[] = [];
  readonly #wildcardCapable: boolean;

  constructor(wildcardCapable: boolean) {
    this.#wildcardCapable = wildcardCapable;
  }

  get names(): ReadonlySet<string> {
    return this.#names;
  }

  get empty(): boolean {
    return !this.wildcard && this.#names.size === 0;
  }

  covers(name: string): boolean {
    return this.wildcard || this.#names.has(name);
  }

  /** SotW: each request carries the full list of names. */
  replace(names: readonly string[]): void {
    if (names.length > 0 && sameList(names, this.#lastNames)) return;
    this.#key = undefined;
    this.#shared = undefined;
    if (names.length === 0) {
      this.#lastNames = [];
      this.#names = new Set();
      this.wildcard = this.#wildcardCapable && !this.#explicit;
      return;
    }
    this.#explicit = true;
    let wildcard = false;
    const named = new Set<string>();
    for (const name of names) {
      if (name === WILDCARD && this.#wildcardCapable) wildcard = true;
      else named.add(name);
    }
    this.wildcard = wildcard;
    const sorted = [...named].sort();
    this.#key = digestOf(wildcard, sorted);
    const shared = shareNames(this.#key, sorted, names);
    this.#shared = shared;
    this.#names = shared.names;
    // The request's own list is kept only when the shared one is in another order.
    this.#lastNames = sameList(names, shared.asked) ? shared.asked : names;
  }

  /** Delta: a request carries changes. Returns the names newly subscribed (without "*"). */
  apply(
    subscribe: readonly string[],
    unsubscribe: readonly string[],
    initial: boolean,
  ): { added: string[]; removed: string[] } {
    this.#key = undefined;
    this.#lastNames = [];
    if (this.#shared) this.#names = new Set(this.#names);
    this.#shared = undefined;
    const own = this.#names as Set<string>;
    if (initial && subscribe.length === 0 && this.#wildcardCapable) this.wildcard = true;
    const added: string[] = [];
    if (subscribe.length > 0) {
      // Naming anything ends the legacy wildcard; "*" in the same request keeps it explicitly.
      if (!this.#explicit && this.wildcard) this.wildcard = false;
      this.#explicit = true;
    }
    for (const name of subscribe) {
      if (name === WILDCARD && this.#wildcardCapable) this.wildcard = true;
      else {
        own.add(name);
        added.push(name);
      }
    }
    const removed: string[] = [];
    for (const name of unsubscribe) {
      if (name === WILDCARD && this.#wildcardCapable) this.wildcard = false;
      else if (own.delete(name)) removed.push(name);
    }
    return { added, removed };
  }

  /** A stable rendering of the whole subscription (a digest): to tell whether a SotW request
   * changed it, and to find what was selected for the same subscription. */
  key(): string {
    this.#key ??= digestOf(this.wildcard, this.sortedNames());
    return this.#key;
  }

  sortedNames(): string[] {
    return [...this.#names].sort();
  }
}

/** Same names in the same order. */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
