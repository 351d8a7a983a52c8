// Encodings shared by content: distinct objects with the same JSON (each sidecar's own
// virtualInbound listener is usually identical to every other's) are encoded once.
import { createHash } from "node:crypto";
import type { JsonObject } from "../proto-json.ts";

/*
 * JSON text determines the encoding except where JSON.stringify loses information: NaN and the
 * infinities become null, -0 becomes 0, undefined members vanish (and become null in lists).
 * Those are written as strings with a NUL prefix, and genuine strings starting with NUL get a
 * second prefix, so two values with the same text always encode alike.
 */
function exact(_key: string, value: unknown): unknown {
  switch (typeof value) {
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0)
        ? value
        : `\u0000n${Object.is(value, -0) ? "-0" : String(value)}`;
    case "string":
      return value.startsWith("\u0000") ? `\u0000s${value}` : value;
    case "undefined":
      return "\u0000u";
    case "bigint":
      return `\u0000b${value}`;
    default:
      return value;
  }
}

/** A digest of everything an encoding depends on: type, resource name and exact content. */
export function contentKey(typeUrl: string, name: string, json: JsonObject): string {
  return createHash("sha256")
    .update(typeUrl)
    .update("\u0000")
    .update(name)
    .update("\u0000")
    .update(JSON.stringify(json, exact))
    .digest("base64");
}

/** Least recently used entries go first once either bound is passed. */
export class ContentCache<V> {
  readonly #entries = new Map<string, { value: V; bytes: number }>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(limits: { maxEntries: number; maxBytes: number }) {
    this.#maxEntries = limits.maxEntries;
    this.#maxBytes = limits.maxBytes;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, bytes: number): void {
    const previous = this.#entries.get(key);
    if (previous) {
      this.#bytes -= previous.bytes;
      this.#entries.delete(key);
    }
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }
}
