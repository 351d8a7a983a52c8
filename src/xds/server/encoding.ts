// Resources to wire form once per object: encoded Any, a content hash (the delta version) and size.
import { createHash } from "node:crypto";
import { describeError, isCremaError } from "../../base/errors.ts";
import type { Logger } from "../../base/logger.ts";
import type { JsonObject } from "../proto-json.ts";
import { type AnyMessage, encodeResource } from "../resource-codec.ts";
import type { SubscriptionView, XdsResourceSet } from "./types.ts";

export interface EncodedResource {
  name: string;
  any: AnyMessage;
  /** Hash of the encoded bytes: equal hashes mean the client would see the same resource. */
  hash: string;
}

type CacheEntry = { typeUrl: string; name: string; result: EncodedResource | Error };

/** Encodes resources, remembering each object's result; sources hand out immutable objects. */
export class ResourceEncoder {
  readonly #cache = new WeakMap<JsonObject, CacheEntry>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** The subscribed resources of `set`, sorted by name; ones that fail to encode are skipped. */
  select(typeUrl: string, set: XdsResourceSet, subscription: SubscriptionView): EncodedResource[] {
    const out: EncodedResource[] = [];
    for (const [name, json] of set.resources) {
      if (!subscription.wildcard && !subscription.names.has(name)) continue;
      const encoded = this.encode(typeUrl, name, json);
      if (encoded) out.push(encoded);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  encode(typeUrl: string, name: string, json: JsonObject): EncodedResource | undefined {
    const cached = this.#cache.get(json);
    if (cached?.typeUrl === typeUrl && cached.name === name)
      return cached.result instanceof Error ? undefined : cached.result;
    let result: EncodedResource | Error;
    try {
      const any = encodeResource(typeUrl, json);
      result = { name, any, hash: hashBytes(any.value) };
    } catch (error) {
      if (!isCremaError(error)) throw error;
      // Logged once per object: the same broken object is skipped silently on later pushes.
      this.#logger.error(
        { typeUrl, resource: name, code: error.code },
        `xDS resource skipped: ${describeError(error)}`,
      );
      result = error;
    }
    this.#cache.set(json, { typeUrl, name, result });
    return result instanceof Error ? undefined : result;
  }
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

/** One hash for a whole SotW response's contents (names and resource hashes, in order). */
export function hashSet(resources: readonly EncodedResource[]): string {
  const hash = createHash("sha256");
  for (const r of resources) hash.update(`${r.name}\0${r.hash}\n`);
  return hash.digest("hex").slice(0, 16);
}

export function byteSize(resources: readonly EncodedResource[]): number {
  let total = 0;
  for (const r of resources) total += r.any.value.length;
  return total;
}
