// The xDS client engine: one ADS stream to a server, per-type handlers, ACK/NACK, reconnects.
import { EventEmitter } from "node:events";
import {
  type ChannelOptions,
  type ClientDuplexStream,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  status as Status,
  type StatusObject,
} from "@grpc/grpc-js";
import { type Clock, systemClock, type TimerHandle } from "../../base/clock.ts";
import { CremaError, describeError } from "../../base/errors.ts";
import type { Logger } from "../../base/logger.ts";
import {
  ADS_SERVICE,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../discovery-messages.ts";
import { shortTypeName } from "../type-urls.ts";
import { Backoff } from "./backoff.ts";
import { DeltaStream } from "./delta.ts";
import { SotwStream } from "./sotw.ts";
import type { AdsStream, StreamContext } from "./stream.ts";
import { TypeState, WILDCARD_TYPES } from "./type-state.ts";
import type {
  TypeHandler,
  WatchOptions,
  XdsClientEvents,
  XdsClientOptions,
  XdsClientStatus,
} from "./types.ts";

interface AdsStub {
  StreamAggregatedResources(
    metadata: Metadata,
  ): ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  DeltaAggregatedResources(
    metadata: Metadata,
  ): ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  close(): void;
}

const AdsClient = makeGenericClientConstructor(ADS_SERVICE, "AggregatedDiscoveryService");

const DEFAULT_CHANNEL_OPTIONS: ChannelOptions = {
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.keepalive_time_ms": 5 * 60 * 1000,
};

// biome-ignore lint/suspicious/noExplicitAny: streams of both protocols share the lifecycle code
type AnyStream = AdsStream<any, any>;

/**
 * Subscribes to resource types over one ADS stream (SotW or delta) and hands each response to
 * the type's handler, ACKing what it accepts and NACKing what it rejects. It knows nothing of
 * what the resources mean. Lifecycle: `watch` types, `start()`, adjust names with
 * `setResourceNames` as the accepted resources reference others, `close()`.
 *
 * A stream that ends for any reason other than `close()` is retried after an exponential,
 * jittered back-off (reset by any response received), resubscribing every type with the last
 * accepted versions. Calls wait for the channel to be ready, so a server that is down holds the
 * attempt until it is back (grpc's own reconnect back-off applies to the connection). Handlers
 * are never told anything on disconnect: the last accepted config stays in force.
 */
export class XdsClient {
  readonly events = new EventEmitter<XdsClientEvents>();
  readonly #options: XdsClientOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #backoff: Backoff;
  readonly #types = new Map<string, TypeState>();
  readonly #context: StreamContext;
  #stub: AdsStub | undefined;
  #stream: AnyStream | undefined;
  #retryTimer: TimerHandle | undefined;
  #connected = false;
  #started = false;
  #closed: Promise<void> | undefined;

  constructor(options: XdsClientOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#clock = options.clock ?? systemClock();
    this.#backoff = new Backoff(options.backoff);
    this.#context = {
      node: options.node,
      types: this.#types,
      logger: this.#logger,
      now: () => this.#clock.now(),
      settled: (state, version, errors) => this.#settled(state, version, errors),
      ...(options.answerGate ? { answerGate: options.answerGate } : {}),
    };
  }

  /** Subscribes to a type: every resource (wildcard; default for Listener and Cluster) or the
   * names given to `setResourceNames`. One handler per type. */
  watch(typeUrl: string, handler: TypeHandler, options: WatchOptions = {}): void {
    if (this.#closed) throw misuse("watch() after close()");
    if (this.#types.has(typeUrl)) throw misuse(`${typeUrl} is already watched`);
    const wildcard = options.wildcard ?? WILDCARD_TYPES.has(typeUrl);
    this.#types.set(typeUrl, new TypeState(typeUrl, handler, wildcard));
    this.#stream?.subscriptionChanged(typeUrl);
  }

  /** The names of a non-wildcard type to subscribe to (replacing the previous ones). Resources
   * no longer named are forgotten by the engine; the handler drops them itself. */
  setResourceNames(typeUrl: string, names: ReadonlySet<string>): void {
    const state = this.#types.get(typeUrl);
    if (!state) throw misuse(`setResourceNames(${typeUrl}) before watch()`);
    if (state.wildcard) throw misuse(`${typeUrl} is watched with the wildcard`);
    if (state.setNames(names)) this.#stream?.subscriptionChanged(typeUrl);
  }

  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const { serverAddress, credentials: creds, channelOptions } = this.#options;
    this.#stub = new AdsClient(serverAddress, creds ?? credentials.createInsecure(), {
      ...DEFAULT_CHANNEL_OPTIONS,
      ...channelOptions,
    }) as unknown as AdsStub;
    this.#open();
  }

  /** Ends the stream, stops reconnecting and closes the channel. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#closed = (async () => {
      if (this.#retryTimer) this.#clock.clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      const stream = this.#stream;
      if (stream && !stream.ended) {
        const ended = new Promise<void>((resolve) => stream.call.once("status", () => resolve()));
        stream.end();
        stream.call.cancel();
        await ended;
      }
      this.#stream = undefined;
      this.#connected = false;
      this.#stub?.close();
      this.#logger.info({ server: this.#options.serverAddress }, "xDS client closed");
    })();
    return this.#closed;
  }

  status(): XdsClientStatus {
    return {
      protocol: this.#options.protocol,
      serverAddress: this.#options.serverAddress,
      connected: this.#connected,
      perType: new Map([...this.#types].map(([typeUrl, state]) => [typeUrl, state.status()])),
    };
  }

  #open(): void {
    const stub = this.#stub;
    if (!stub || this.#closed) return;
    const metadata = new Metadata({ waitForReady: true });
    const stream: AnyStream =
      this.#options.protocol === "sotw"
        ? new SotwStream(stub.StreamAggregatedResources(metadata), this.#context)
        : new DeltaStream(stub.DeltaAggregatedResources(metadata), this.#context);
    this.#stream = stream;
    const call = stream.call;
    call.on("metadata", () => this.#markConnected(stream));
    call.on("data", (response: unknown) => this.#receive(stream, response));
    call.on("error", () => {}); // the status event that follows carries it
    call.on("status", (status: StatusObject) => this.#ended(stream, status));
    this.#logger.debug({ server: this.#options.serverAddress }, "xDS stream opening");
    stream.start();
  }

  #receive(stream: AnyStream, response: unknown): void {
    if (this.#stream !== stream || stream.ended) return;
    this.#markConnected(stream);
    this.#backoff.reset();
    try {
      stream.receive(response);
    } catch (error) {
      this.#logger.error({ err: error }, `xDS response handling failed: ${describeError(error)}`);
    }
  }

  #markConnected(stream: AnyStream): void {
    if (this.#stream !== stream || this.#connected) return;
    this.#connected = true;
    this.#logger.info({ server: this.#options.serverAddress }, "xDS stream connected");
    this.#emit("connected");
  }

  #ended(stream: AnyStream, status: StatusObject): void {
    if (this.#stream !== stream) return;
    stream.end();
    this.#stream = undefined;
    if (this.#closed) return;
    const reason = `${Status[status.code] ?? status.code}: ${status.details}`;
    if (this.#connected) {
      this.#connected = false;
      this.#logger.warn({ server: this.#options.serverAddress, reason }, "xDS stream ended");
      this.#emit("disconnected", reason);
    }
    const delayMs = this.#backoff.next();
    const attempt = this.#backoff.attempt;
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#open();
    }, delayMs);
    this.#logger.info({ reason, attempt, delayMs }, "xDS stream retry scheduled");
    this.#emit("retry", { reason, attempt, delayMs });
  }

  #settled(state: TypeState, version: string, errors: readonly string[]): void {
    const type = shortTypeName(state.typeUrl);
    if (errors.length === 0) {
      this.#logger.debug({ typeUrl: state.typeUrl, version }, `${type} update accepted`);
      this.#emit("update", state.typeUrl, version);
      return;
    }
    this.#logger.warn({ typeUrl: state.typeUrl, version, errors }, `${type} update rejected`);
    this.#emit("nack", state.typeUrl, version, errors);
  }

  #emit<K extends keyof XdsClientEvents>(event: K, ...args: XdsClientEvents[K]): void {
    try {
      (this.events as EventEmitter).emit(event, ...args);
    } catch (error) {
      this.#logger.error({ err: error }, `xDS client listener failed: ${describeError(error)}`);
    }
  }
}

function misuse(message: string): CremaError {
  return new CremaError("CREMA_BASE_INTERNAL", `xDS client: ${message}`);
}
