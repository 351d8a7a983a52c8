// Resources to wire form once per object: encoded Any, a content hash (the delta version) and size.
import { createHash } from "node:crypto";
import { describeError } from "../../base/errors.ts";
import type { JsonObject } from "../proto-json.ts";
import { type AnyMessage, encodeResource } from "../resource-codec.ts";
import { ContentCache, contentKey } from "./content-key.ts";
import { shareResourceList } from "./response-wire.ts";
import type { SubscriptionView, XdsResourceSet } from "./types.ts";

export interface EncodedResource {
  name: string;
  any: AnyMessage;
  /** Hash of the encoded bytes: equal hashes mean the client would see the same resource. */
  hash: string;
}

/** A subscribed resource that could not be encoded: `json` is the object that failed. */
export interface EncodeFailure {
  name: string;
  json: JsonObject;
  message: string;
}

/** Encoded resources sorted by name, with their lookup and content hash computed once:
 * connections that select the same resources share one set. Treated as immutable. */
export class EncodedSet {
  readonly list: readonly EncodedResource[];
  #byName: Map<string, EncodedResource> | undefined;
  #hash: string | undefined;
  #anys: readonly AnyMessage[] | undefined;

  /** `list` must be sorted by name. */
  constructor(list: readonly EncodedResource[]) {
    this.list = list;
  }

  get size(): number {
    return this.list.length;
  }

  get(name: string): EncodedResource | undefined {
    this.#byName ??= new Map(this.list.map((r) => [r.name, r]));
    return this.#byName.get(name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** The resources as sent, one list for every response carrying the whole set (the response
   * writer copies a list it has seen before as one block). */
  get anys(): readonly AnyMessage[] {
    if (!this.#anys) {
      this.#anys = Object.freeze(this.list.map((r) => r.any));
      shareResourceList(this.#anys);
    }
    return this.#anys;
  }

  /** hashSet of the list: equal hashes mean a SotW client would hold the same resources. */
  get hash(): string {
    this.#hash ??= hashSet(this.list);
    return this.#hash;
  }
}

export const EMPTY_SET = new EncodedSet([]);

export interface Selection {
  encoded: EncodedSet;
  failed: readonly EncodeFailure[];
}

type CacheEntry = {
  typeUrl: string;
  name: string;
  result: EncodedResource | { error: string };
};

/** Enough for every distinct resource a large mesh serves at once, yet a bounded amount of memory. */
const CONTENT_CACHE_LIMITS = { maxEntries: 50_000, maxBytes: 64 * 2 ** 20 };

/** The selections made from one map, by type, then by subscription key (the same string
 * object for a connection's unchanged subscription: its hash is computed once). */
type RememberedSelections = Map<string, Map<string, Selection>>;

/** Selections remembered per resource map (several subscriptions may select from one). */
const SELECTIONS_PER_MAP = 8;

/** A subscription with a stable rendering of itself (Subscription.key). */
export interface KeyedSubscription extends SubscriptionView {
  key(): string;
}

/** Encodes resources, remembering each object's result; sources hand out immutable objects.
 * It only reports failures: what a client is served instead is each connection's decision. */
export class ResourceEncoder {
  readonly #cache = new WeakMap<JsonObject, CacheEntry>();
  /** Encodings by content, for objects not seen before: bounded, as it keeps bytes alive that
   * no connection may need any more. */
  readonly #byContent = new ContentCache<CacheEntry["result"]>(CONTENT_CACHE_LIMITS);
  /*
   * Many connections are served the same resource map (a translation shared between proxies),
   * and a connection is served the same map again while nothing in it changed: the selection
   * made once serves them all. It depends only on the map's entries (which never change: a
   * changed set is a new map), the type, and the subscription, whose key() renders it whole.
   */
  readonly #selections = new WeakMap<ReadonlyMap<string, JsonObject>, RememberedSelections>();

  /** The subscribed resources of `set`, encoded, and the ones that failed to encode. */
  select(typeUrl: string, set: XdsResourceSet, subscription: KeyedSubscription): Selection {
    let byType = this.#selections.get(set.resources);
    if (!byType) {
      byType = new Map();
      this.#selections.set(set.resources, byType);
    }
    let remembered = byType.get(typeUrl);
    if (!remembered) {
      remembered = new Map();
      byType.set(typeUrl, remembered);
    }
    const key = subscription.key();
    let selection = remembered.get(key);
    if (selection) return selection;
    const encoded: EncodedResource[] = [];
    const failed: EncodeFailure[] = [];
    for (const [name, json] of set.resources) {
      if (!subscription.wildcard && !subscription.names.has(name)) continue;
      const result = this.encode(typeUrl, name, json);
      if ("error" in result) failed.push({ name, json, message: result.error });
      else encoded.push(result);
    }
    selection = { encoded: new EncodedSet(encoded.sort(byName)), failed };
    // A connection's subscriptions come and go: only the latest few per map are kept.
    if (remembered.size >= SELECTIONS_PER_MAP) remembered.delete(remembered.keys().next().value!);
    remembered.set(key, selection);
    return selection;
  }

  encode(typeUrl: string, name: string, json: JsonObject): EncodedResource | { error: string } {
    const cached = this.#cache.get(json);
    if (cached?.typeUrl === typeUrl && cached.name === name) return cached.result;
    let key: string | undefined;
    try {
      key = contentKey(typeUrl, name, json);
    } catch {
      // Not expressible as JSON text (a cycle, say): encoding will say what is wrong with it.
    }
    let result = key === undefined ? undefined : this.#byContent.get(key);
    if (!result) {
      try {
        const any = encodeResource(typeUrl, json);
        result = { name, any, hash: hashBytes(any.value) };
      } catch (error) {
        // Whatever the encoder throws concerns this one resource: the others are still served.
        result = { error: describeError(error) };
      }
      if (key !== undefined)
        this.#byContent.set(key, result, "any" in result ? result.any.value.length : 0);
    }
    this.#cache.set(json, { typeUrl, name, result });
    return result;
  }
}

export function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

/** One hash for a whole SotW response's contents (names and resource hashes, in order). */
export function hashSet(resources: readonly EncodedResource[]): string {
  const text = resources.map((r) => `${r.name}\0${r.hash}\n`).join("");
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

export function byteSize(resources: readonly EncodedResource[]): number {
  let total = 0;
  for (const r of resources) total += r.any.value.length;
  return total;
}
