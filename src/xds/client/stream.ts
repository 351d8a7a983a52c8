// One ADS stream, either protocol: which types it requested, coalesced subscription changes, node.
import type { ClientDuplexStream } from "@grpc/grpc-js";
import type { Logger } from "../../base/logger.ts";
import type { JsonObject } from "../proto-json.ts";
import { PUSH_ORDER } from "../type-urls.ts";
import type { TypeState } from "./type-state.ts";

/** What a stream needs from its client. */
export interface StreamContext {
  readonly node: JsonObject;
  readonly types: ReadonlyMap<string, TypeState>;
  readonly logger: Logger;
  now(): number;
  /** A response of `state`'s type was answered: ACK (no errors) or NACK. */
  settled(state: TypeState, version: string, errors: readonly string[]): void;
  /** What every request waits for before it goes out, if anything (XdsClientOptions.answerGate). */
  answerGate?: () => Promise<void> | undefined;
}

interface RequestLike {
  type_url: string;
  node?: JsonObject;
}

/**
 * Requests go out in three ways: a type's first request on the stream (from `start`, or when it
 * is first wanted), the answer to each response (ACK/NACK, carrying the latest subscription),
 * and subscription changes, coalesced per type until the next microtask so that a burst of
 * `setResourceNames` calls sends one request. The node goes on the stream's first request only
 * (the spec guarantees no more to servers).
 */
export abstract class AdsStream<Req extends RequestLike, Res> {
  readonly call: ClientDuplexStream<Req, Res>;
  protected readonly ctx: StreamContext;
  /** Types whose first request went out on this stream. */
  protected readonly requested = new Set<string>();
  readonly #dirty = new Set<string>();
  #flushScheduled = false;
  #sentFirst = false;
  #ended = false;
  /** Requests held behind the answer gate, written in order once it opens. */
  #held: Promise<void> | undefined;

  constructor(call: ClientDuplexStream<Req, Res>, ctx: StreamContext) {
    this.call = call;
    this.ctx = ctx;
  }

  /** Sends the first request of every type with something to ask for, in Envoy's order. */
  start(): void {
    for (const state of ordered(this.ctx.types)) {
      state.nonce = ""; // nonces belong to a stream
      if (state.wanted) this.send(state, this.initialRequest(state));
    }
  }

  /** A type's subscription changed, or it was just watched: tell the server (coalesced). */
  subscriptionChanged(typeUrl: string): void {
    this.#dirty.add(typeUrl);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  /** The call is over: nothing more is written. */
  end(): void {
    this.#ended = true;
    this.#dirty.clear();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Handles one response; never throws for anything the server sent. */
  abstract receive(response: Res): void;

  /** The type's first request on this stream. */
  protected abstract initialRequest(state: TypeState): Req;

  /** A request carrying the type's subscription change, or nothing if there is none. */
  protected abstract changeRequest(state: TypeState): Req | undefined;

  /**
   * The state of the type a response is for, with its nonce recorded; undefined (logged) when
   * nobody watches that type — as Envoy does, such a response is ignored, not answered.
   */
  protected watchedType(typeUrl: string, nonce: string): TypeState | undefined {
    const state = this.ctx.types.get(typeUrl);
    if (!state) {
      this.ctx.logger.warn({ typeUrl, nonce }, "xDS response for a type not watched: ignored");
      return undefined;
    }
    state.nonce = nonce;
    return state;
  }

  protected send(state: TypeState, request: Req): void {
    // Every request carries the type's latest subscription, so a pending change is covered.
    this.#dirty.delete(state.typeUrl);
    this.requested.add(state.typeUrl);
    if (this.#ended) return;
    if (!this.#sentFirst) {
      request.node = this.ctx.node;
      this.#sentFirst = true;
    }
    const gate = this.ctx.answerGate?.();
    if (!gate && !this.#held) {
      this.#write(request);
      return;
    }
    const held: Promise<void> = (this.#held ?? Promise.resolve())
      .then(() => gate)
      .catch(() => {})
      .then(() => {
        if (this.#held === held) this.#held = undefined;
        if (!this.#ended) this.#write(request);
      });
    this.#held = held;
  }

  #write(request: Req): void {
    this.ctx.logger.debug({ request: summary(request) }, "xDS request");
    this.call.write(request);
  }

  #flush(): void {
    this.#flushScheduled = false;
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    if (this.#ended) return;
    for (const typeUrl of dirty) {
      const state = this.ctx.types.get(typeUrl);
      if (!state) continue;
      if (!this.requested.has(typeUrl)) {
        // Never asked on this stream: an empty first request could mean "everything".
        if (state.wanted) this.send(state, this.initialRequest(state));
        continue;
      }
      const request = this.changeRequest(state);
      if (request) this.send(state, request);
    }
  }
}

/** Types in Envoy's warming order (clusters, endpoints, listeners, routes, secrets), then others. */
function ordered(types: ReadonlyMap<string, TypeState>): TypeState[] {
  const rank = (typeUrl: string) => {
    const i = PUSH_ORDER.indexOf(typeUrl);
    return i < 0 ? PUSH_ORDER.length : i;
  };
  return [...types.values()].sort((a, b) => rank(a.typeUrl) - rank(b.typeUrl));
}

/** A request without its node, for debug logs. */
function summary(request: RequestLike): Record<string, unknown> {
  const { node: _node, ...rest } = request as RequestLike & Record<string, unknown>;
  return rest;
}
