// Which resources of one type a stream subscribed to, with the xDS wildcard rules (legacy and "*").
import type { SubscriptionView } from "./types.ts";

export const WILDCARD = "*";

/**
 * Wildcard rules (Envoy's xDS protocol spec, "How the client specifies what resources to
 * return"): for wildcard-capable types (LDS, CDS), a client that has never named a resource is
 * subscribed to everything ("legacy wildcard"); naming "*" subscribes to everything explicitly.
 * Once a client names anything, the legacy meaning is gone and an empty list means "nothing".
 * Other types are never wildcard: "*" there is just a name.
 */
export class Subscription implements SubscriptionView {
  wildcard = false;
  readonly names = new Set<string>();
  /** The client has named a resource (or "*") on this stream. */
  #explicit = false;
  readonly #wildcardCapable: boolean;

  constructor(wildcardCapable: boolean) {
    this.#wildcardCapable = wildcardCapable;
  }

  get empty(): boolean {
    return !this.wildcard && this.names.size === 0;
  }

  covers(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** SotW: each request carries the full list of names. */
  replace(names: readonly string[]): void {
    this.names.clear();
    if (names.length === 0) {
      this.wildcard = this.#wildcardCapable && !this.#explicit;
      return;
    }
    this.#explicit = true;
    this.wildcard = false;
    for (const name of names) {
      if (name === WILDCARD && this.#wildcardCapable) this.wildcard = true;
      else this.names.add(name);
    }
  }

  /** Delta: a request carries changes. Returns the names newly subscribed (without "*"). */
  apply(
    subscribe: readonly string[],
    unsubscribe: readonly string[],
    initial: boolean,
  ): { added: string[]; removed: string[] } {
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
        this.names.add(name);
        added.push(name);
      }
    }
    const removed: string[] = [];
    for (const name of unsubscribe) {
      if (name === WILDCARD && this.#wildcardCapable) this.wildcard = false;
      else if (this.names.delete(name)) removed.push(name);
    }
    return { added, removed };
  }

  /** A stable rendering, to tell whether a SotW request changed the subscription. */
  key(): string {
    return `${this.wildcard ? "*" : "-"}|${[...this.names].sort().join("\n")}`;
  }

  sortedNames(): string[] {
    return [...this.names].sort();
  }
}
