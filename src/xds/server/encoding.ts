// Resources to wire form once per object: encoded Any, a content hash (the delta version) and size.
import { createHash } from "node:crypto";
import { describeError } from "../../base/errors.ts";
import type { JsonObject } from "../proto-json.ts";
import { type AnyMessage, encodeResource } from "../resource-codec.ts";
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

export interface Selection {
  /** Sorted by name. */
  encoded: EncodedResource[];
  failed: EncodeFailure[];
}

type CacheEntry = {
  typeUrl: string;
  name: string;
  result: EncodedResource | { error: string };
};

/** Encodes resources, remembering each object's result; sources hand out immutable objects.
 * It only reports failures: what a client is served instead is each connection's decision. */
export class ResourceEncoder {
  readonly #cache = new WeakMap<JsonObject, CacheEntry>();

  /** The subscribed resources of `set`, encoded, and the ones that failed to encode. */
  select(typeUrl: string, set: XdsResourceSet, subscription: SubscriptionView): Selection {
    const encoded: EncodedResource[] = [];
    const failed: EncodeFailure[] = [];
    for (const [name, json] of set.resources) {
      if (!subscription.wildcard && !subscription.names.has(name)) continue;
      const result = this.encode(typeUrl, name, json);
      if ("error" in result) failed.push({ name, json, message: result.error });
      else encoded.push(result);
    }
    return { encoded: encoded.sort(byName), failed };
  }

  encode(typeUrl: string, name: string, json: JsonObject): EncodedResource | { error: string } {
    const cached = this.#cache.get(json);
    if (cached?.typeUrl === typeUrl && cached.name === name) return cached.result;
    let result: CacheEntry["result"];
    try {
      const any = encodeResource(typeUrl, json);
      result = { name, any, hash: hashBytes(any.value) };
    } catch (error) {
      // Whatever the encoder throws concerns this one resource: the others are still served.
      result = { error: describeError(error) };
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
  const hash = createHash("sha256");
  for (const r of resources) hash.update(`${r.name}\0${r.hash}\n`);
  return hash.digest("hex").slice(0, 16);
}

export function byteSize(resources: readonly EncodedResource[]): number {
  let total = 0;
  for (const r of resources) total += r.any.value.length;
  return total;
}
