// State shared by SotW and delta connections: per-type bookkeeping, ACK/NACK, sending, backpressure.
import type { Clock } from "../../base/clock.ts";
import { describeError } from "../../base/errors.ts";
import type { Logger } from "../../base/logger.ts";
import type { ErrorDetail } from "../discovery-messages.ts";
import type { JsonObject } from "../proto-json.ts";
import { PUSH_ORDER, shortTypeName } from "../type-urls.ts";
import { byName, type EncodeFailure, type ResourceEncoder, type Selection } from "./encoding.ts";
import { Subscription } from "./subscription.ts";
import type {
  AdsEvent,
  AnswerStatus,
  ConnectionStatus,
  Protocol,
  ResourceSource,
  SentStatus,
  TypeStatus,
  XdsResourceSet,
} from "./types.ts";

/** What a connection needs from the server that owns it. */
export interface ConnectionContext {
  source: ResourceSource;
  encoder: ResourceEncoder;
  logger: Logger;
  clock: Clock;
  emit(event: AdsEvent): void;
  wildcardTypes: ReadonlySet<string>;
  nextNonce(): string;
}

/** The writable half of a gRPC stream, as far as a connection uses it. */
export interface ResponseStream<Res> {
  write(message: Res): boolean;
  once(event: "drain", listener: () => void): unknown;
}

export interface Identity {
  id: string;
  nodeId: string;
  node: JsonObject | undefined;
  key: string;
  peer: string;
  /** The client certificate's SPIFFE id, on a TLS connection where the proxy presented one. */
  peerIdentity?: string;
}

export interface TypeState {
  readonly typeUrl: string;
  readonly subscription: Subscription;
  lastSent?: SentStatus;
  lastAck?: AnswerStatus;
  lastNack?: AnswerStatus & { message: string };
  /** Subscribed resources failing to encode at the last sync, by name: each failing object is
   * reported once, not on every push. */
  failing: Map<string, EncodeFailure>;
}

export interface SendInfo {
  version: string;
  nonce: string;
  resources: number;
  removed: number;
  bytes: number;
}

/** Push order: Envoy's warming order first, then any other subscribed type by name. */
export function orderTypes(typeUrls: Iterable<string>): string[] {
  const rank = (t: string) => {
    const i = PUSH_ORDER.indexOf(t);
    return i < 0 ? PUSH_ORDER.length : i;
  };
  return [...typeUrls].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export abstract class Connection<Req, Res, S extends TypeState = TypeState> {
  abstract readonly protocol: Protocol;
  readonly identity: Identity;
  readonly connectedAt: number;
  protected readonly types = new Map<string, S>();
  protected readonly ctx: ConnectionContext;
  protected readonly log: Logger;
  readonly #stream: ResponseStream<Res>;
  /** The stream's buffer is full: sends wait for 'drain', one pending sync per type. */
  #blocked = false;
  readonly #pending = new Map<string, boolean>();
  #closed = false;

  constructor(ctx: ConnectionContext, identity: Identity, stream: ResponseStream<Res>) {
    this.ctx = ctx;
    this.identity = identity;
    this.#stream = stream;
    this.connectedAt = ctx.clock.now();
    this.log = ctx.logger.child({ connection: identity.id });
  }

  /** Handles one request of this connection's stream (type URL already validated). */
  abstract handle(request: Req): void;

  /** Computes what the client lacks for one type and sends it (or nothing). */
  protected abstract syncType(state: S, force: boolean): void;

  protected abstract newState(typeUrl: string, subscription: Subscription): S;

  close(): void {
    this.#closed = true;
    this.#pending.clear();
  }

  /** Recomputes every subscribed type in push order, sending only what changed. */
  push(): void {
    for (const typeUrl of orderTypes(this.types.keys())) this.sync(typeUrl, false);
  }

  protected sync(typeUrl: string, force: boolean): void {
    const state = this.types.get(typeUrl);
    if (this.#closed || !state) return;
    if (this.#blocked) {
      this.#pending.set(typeUrl, force || (this.#pending.get(typeUrl) ?? false));
      return;
    }
    try {
      this.syncType(state, force);
    } catch (error) {
      // A failing source must not take the stream down; the next push retries.
      this.log.error(
        { typeUrl, err: error },
        `computing ${shortTypeName(typeUrl)} failed: ${describeError(error)}`,
      );
    }
  }

  protected stateFor(typeUrl: string): { state: S; created: boolean } {
    const existing = this.types.get(typeUrl);
    if (existing) return { state: existing, created: false };
    const state = this.newState(typeUrl, new Subscription(this.ctx.wildcardTypes.has(typeUrl)));
    this.types.set(typeUrl, state);
    return { state, created: true };
  }

  protected resourcesOf(state: S) {
    return this.ctx.source.resources(this.identity.key, state.typeUrl, state.subscription);
  }

  /** Encodes the subscribed resources of `set`. The caller must not present a failed resource
   * as removed (a SotW client drops what a response omits: a control-plane bug would become
   * an outage); `kept(name)` says whether the client holds a previous version of it. */
  protected encodeSubscribed(
    state: S,
    set: XdsResourceSet,
    kept: (name: string) => boolean,
  ): Selection {
    const selection = this.ctx.encoder.select(state.typeUrl, set, state.subscription);
    const failing = new Map<string, EncodeFailure>();
    for (const failure of selection.failed) {
      failing.set(failure.name, failure);
      if (state.failing.get(failure.name)?.json !== failure.json)
        this.#reportEncodeFailure(state.typeUrl, failure, kept(failure.name));
    }
    state.failing = failing;
    return selection;
  }

  #reportEncodeFailure(typeUrl: string, failure: EncodeFailure, keptPrevious: boolean): void {
    const { id, nodeId } = this.identity;
    const type = shortTypeName(typeUrl);
    this.log.error(
      { typeUrl, resource: failure.name, proxy: nodeId, keptPrevious },
      `${type} ${failure.name} for proxy ${nodeId} cannot be encoded (${failure.message}); ${
        keptPrevious ? "the proxy keeps its last version" : "it is not sent"
      }`,
    );
    this.ctx.emit({
      kind: "encode-error",
      connectionId: id,
      nodeId,
      typeUrl,
      resource: failure.name,
      message: failure.message,
      keptPrevious,
    });
  }

  protected send(state: S, response: Res, info: SendInfo): void {
    if (this.#closed) return;
    state.lastSent = {
      version: info.version,
      nonce: info.nonce,
      at: this.ctx.clock.now(),
      resources: info.resources,
    };
    const { id, nodeId } = this.identity;
    this.log.debug(
      {
        typeUrl: state.typeUrl,
        version: info.version,
        nonce: info.nonce,
        resources: info.resources,
      },
      `push ${shortTypeName(state.typeUrl)}`,
    );
    this.ctx.emit({ kind: "push", connectionId: id, nodeId, typeUrl: state.typeUrl, ...info });
    if (!this.#stream.write(response)) this.#waitForDrain();
  }

  #waitForDrain(): void {
    this.#blocked = true;
    this.#stream.once("drain", () => {
      this.#blocked = false;
      const pending = [...this.#pending];
      this.#pending.clear();
      const order = orderTypes(pending.map(([t]) => t));
      const force = new Map(pending);
      for (const typeUrl of order) this.sync(typeUrl, force.get(typeUrl) ?? false);
    });
  }

  /** Records the answer to the last response of `state` (its nonce matched). Clients repeat
   * the nonce on later requests that only change names: only the first counts as the answer. */
  protected recordAnswer(state: S, errorDetail: ErrorDetail | undefined): void {
    const sent = state.lastSent;
    if (!sent || state.lastAck?.nonce === sent.nonce || state.lastNack?.nonce === sent.nonce)
      return;
    const now = this.ctx.clock.now();
    const answer = { version: sent.version, nonce: sent.nonce, at: now };
    const event = {
      connectionId: this.identity.id,
      nodeId: this.identity.nodeId,
      typeUrl: state.typeUrl,
      version: sent.version,
      nonce: sent.nonce,
      durationMs: now - sent.at,
    };
    if (errorDetail) {
      state.lastNack = { ...answer, message: errorDetail.message };
      this.log.warn(
        { typeUrl: state.typeUrl, version: sent.version, nonce: sent.nonce },
        `${shortTypeName(state.typeUrl)} rejected (NACK): ${errorDetail.message}`,
      );
      this.ctx.emit({ kind: "nack", ...event, message: errorDetail.message });
    } else {
      state.lastAck = answer;
      this.ctx.emit({ kind: "ack", ...event });
    }
  }

  status(): ConnectionStatus {
    const types: TypeStatus[] = [];
    for (const typeUrl of orderTypes(this.types.keys())) {
      const state = this.types.get(typeUrl)!;
      const nonce = state.lastSent?.nonce;
      types.push({
        typeUrl,
        wildcard: state.subscription.wildcard,
        names: state.subscription.sortedNames(),
        ...(state.lastSent && { lastSent: { ...state.lastSent } }),
        ...(state.lastAck && { lastAck: { ...state.lastAck } }),
        ...(state.lastNack && { lastNack: { ...state.lastNack } }),
        awaitingAnswer:
          nonce !== undefined && state.lastAck?.nonce !== nonce && state.lastNack?.nonce !== nonce,
        ...(state.failing.size > 0 && {
          encodeErrors: [...state.failing.values()]
            .sort(byName)
            .map((f) => ({ resource: f.name, message: f.message })),
        }),
      });
    }
    const { id, nodeId, node, key, peer, peerIdentity } = this.identity;
    return {
      id,
      nodeId,
      ...(node && { node }),
      key,
      peer,
      ...(peerIdentity ? { peerIdentity } : {}),
      protocol: this.protocol,
      connectedAt: this.connectedAt,
      types,
    };
  }
}
