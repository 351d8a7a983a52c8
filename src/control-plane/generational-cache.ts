// A Map whose entries are dropped once they have gone unused for a few generations (snapshot
// versions, for the discovery source): caches that outlive one version stay bounded by what
// the connected proxies still ask for — and by a size cap, for proxies that come and go while
// the configuration does not change.

export class GenerationalCache<V> extends Map<string, V> {
  readonly #keepGenerations: number;
  readonly #maxEntries: number;
  readonly #lastUsed = new Map<string, number>();
  #generation = 0;

  /** An entry survives `keepGenerations` generations without use (at least 1); beyond
   * `maxEntries`, the oldest entries go. */
  constructor(keepGenerations: number, maxEntries = Number.POSITIVE_INFINITY) {
    super();
    this.#keepGenerations = Math.max(1, keepGenerations);
    this.#maxEntries = maxEntries;
  }

  override get(key: string): V | undefined {
    const value = super.get(key);
    if (value !== undefined) this.#lastUsed.set(key, this.#generation);
    return value;
  }

  override set(key: string, value: V): this {
    super.set(key, value);
    this.#lastUsed.set(key, this.#generation);
    for (const oldest of this.keys()) {
      if (this.size <= this.#maxEntries) break;
      this.delete(oldest);
    }
    return this;
  }

  override delete(key: string): boolean {
    this.#lastUsed.delete(key);
    return super.delete(key);
  }

  override clear(): void {
    this.#lastUsed.clear();
    super.clear();
  }

  /** Starts a generation, dropping entries last used `keepGenerations` generations ago or more. */
  nextGeneration(): void {
    this.#generation++;
    for (const [key, used] of this.#lastUsed) {
      if (this.#generation - used >= this.#keepGenerations) this.delete(key);
    }
  }
}
