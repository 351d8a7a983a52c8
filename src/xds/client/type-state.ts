// What the client knows of one resource type across streams: subscription, accepted versions, errors.
import { describeError } from "../../base/errors.ts";
import type { JsonObject } from "../proto-json.ts";
import { TYPE_URL } from "../type-urls.ts";
import { type Decoded, nackMessage } from "./decode.ts";
import type { ResourceUpdate, TypeHandler, TypeStatus } from "./types.ts";

/** Types whose SotW responses carry the complete set, so a missing resource is a removed one. */
export const FULL_STATE_TYPES: ReadonlySet<string> = new Set([TYPE_URL.listener, TYPE_URL.cluster]);

/** Types subscribed with the wildcard unless the watcher says otherwise. */
export const WILDCARD_TYPES: ReadonlySet<string> = FULL_STATE_TYPES;

export interface ResponseFacts {
  version: string;
  /** Delta's removed_resources (SotW: none; full-state removals are computed). */
  removed: readonly string[];
  full: boolean;
}

export class TypeState {
  readonly typeUrl: string;
  readonly handler: TypeHandler;
  readonly wildcard: boolean;
  /** Explicitly subscribed names (besides the wildcard). */
  readonly names = new Set<string>();
  /** Last accepted version of the type ("" before any). */
  version = "";
  /** Last nonce received for the type on the current stream. */
  nonce = "";
  /** Accepted resources: name → version. Only names; the handler holds the resources. */
  readonly accepted = new Map<string, string>();
  acceptedAt: number | undefined;
  lastError: string | undefined;
  lastErrorAt: number | undefined;

  constructor(typeUrl: string, handler: TypeHandler, wildcard: boolean) {
    this.typeUrl = typeUrl;
    this.handler = handler;
    this.wildcard = wildcard;
  }

  /** There is something to ask the server for (else no request goes out for the type). */
  get wanted(): boolean {
    return this.wildcard || this.names.size > 0;
  }

  covers(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** Replaces the explicit names; accepted resources no longer covered are forgotten. Returns
   * whether anything changed. */
  setNames(names: ReadonlySet<string>): boolean {
    const same = names.size === this.names.size && [...names].every((n) => this.names.has(n));
    if (same) return false;
    this.names.clear();
    for (const name of names) this.names.add(name);
    for (const name of this.accepted.keys()) if (!this.covers(name)) this.accepted.delete(name);
    return true;
  }

  /**
   * Offers a decoded response to the handler and returns the reasons to reject it (none:
   * accepted, and the state moved to it). Decode errors reject without asking the handler.
   * Resources the client did not subscribe to are left out of the update.
   */
  settle(decoded: Decoded, facts: ResponseFacts, now: number): readonly string[] {
    if (decoded.errors.length > 0) return this.#reject(decoded.errors, now);
    const added = new Map<string, JsonObject>();
    const versions = new Map<string, string>();
    for (const [name, resource] of decoded.resources) {
      if (!this.covers(name)) continue;
      added.set(name, resource.json);
      versions.set(name, resource.version);
    }
    const removed = facts.full
      ? [...this.accepted.keys()].filter((name) => !added.has(name))
      : facts.removed.filter((name) => this.covers(name) || this.accepted.has(name));
    const update: ResourceUpdate = {
      added,
      removed,
      full: facts.full,
      version: facts.version,
      versions,
    };
    const errors = this.#ask(update);
    if (errors.length > 0) return this.#reject(errors, now);
    if (facts.full) this.accepted.clear();
    for (const name of removed) this.accepted.delete(name);
    for (const [name, version] of versions) this.accepted.set(name, version);
    this.version = facts.version;
    this.acceptedAt = now;
    this.lastError = undefined;
    return [];
  }

  status(): TypeStatus {
    const status: TypeStatus = {
      typeUrl: this.typeUrl,
      wildcard: this.wildcard,
      names: [...this.names].sort(),
      version: this.version,
      nonce: this.nonce,
      resources: this.accepted.size,
    };
    if (this.acceptedAt !== undefined) status.acceptedAt = this.acceptedAt;
    if (this.lastError !== undefined) status.lastError = this.lastError;
    if (this.lastErrorAt !== undefined) status.lastErrorAt = this.lastErrorAt;
    return status;
  }

  #ask(update: ResourceUpdate): readonly string[] {
    try {
      const result = this.handler.apply(update) as { errors?: unknown } | undefined;
      if (!Array.isArray(result?.errors)) return ["the resource handler returned no result"];
      return result.errors.map(String);
    } catch (error) {
      return [describeError(error)];
    }
  }

  #reject(errors: readonly string[], now: number): readonly string[] {
    this.lastError = nackMessage(errors);
    this.lastErrorAt = now;
    return errors;
  }
}
