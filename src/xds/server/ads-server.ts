// The ADS server: serves a ResourceSource's resources over SotW and delta streams, pushes on demand.
import { randomBytes } from "node:crypto";
import {
  type Server,
  type ServerDuplexStream,
  status as Status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { type Clock, systemClock } from "../../base/clock.ts";
import { describeError } from "../../base/errors.ts";
import type { Logger } from "../../base/logger.ts";
import {
  ADS_SERVICE,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../discovery-messages.ts";
import type { JsonObject } from "../proto-json.ts";
import { TYPE_URL } from "../type-urls.ts";
import type { Connection, ConnectionContext } from "./connection.ts";
import { DeltaConnection } from "./delta.ts";
import { ResourceEncoder } from "./encoding.ts";
import { PushQueue } from "./push-queue.ts";
import { readDiscoveryRequest } from "./request-wire.ts";
import {
  scratchAllocator,
  serializeDeltaDiscoveryResponse,
  serializeDiscoveryResponse,
} from "./response-wire.ts";
import { SotwConnection } from "./sotw.ts";
import { type AdsRequestLike, AdsStream } from "./stream.ts";
import type {
  AdsEvent,
  AdsServerOptions,
  ConnectionStatus,
  Protocol,
  ResourceSource,
} from "./types.ts";

/** The ADS service as served: state-of-the-world requests are read by request-wire.ts;
 * responses are written by response-wire.ts into one reused buffer (its scratch writer's) that
 * grpc-js copies each serialized message out of before it serializes the next. */
const scratch = scratchAllocator();
const SERVED_ADS = {
  StreamAggregatedResources: {
    ...ADS_SERVICE.StreamAggregatedResources,
    requestDeserialize: readDiscoveryRequest,
    responseSerialize: (response: DiscoveryResponse) =>
      serializeDiscoveryResponse(response, scratch),
  },
  DeltaAggregatedResources: {
    ...ADS_SERVICE.DeltaAggregatedResources,
    responseSerialize: (response: DeltaDiscoveryResponse) =>
      serializeDeltaDiscoveryResponse(response, scratch),
  },
};

// biome-ignore lint/suspicious/noExplicitAny: streams of both protocols share one registry
type AnyConnection = Connection<any, any>;
// biome-ignore lint/suspicious/noExplicitAny: streams of both protocols share one registry
type AnyStream = AdsStream<any, any>;

/**
 * Serves Envoy's Aggregated Discovery Service. Streams become connections on their first
 * request (the source's `connect`); `push()` recomputes connections and sends what changed.
 * Pushes never wait for ACKs: a newer response supersedes an unanswered one (its nonce makes
 * the older answer stale). Only when a stream's send buffer is full does it hold back, keeping
 * one pending sync per type that is computed from the latest resources once it drains.
 */
export class AdsServer {
  readonly #source: ResourceSource;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #onEvent: ((event: AdsEvent) => void) | undefined;
  readonly #closeTimeoutMs: number;
  readonly #ctx: ConnectionContext;
  readonly #streams = new Set<AnyStream>();
  readonly #connections = new Map<string, AnyConnection>();
  readonly #pushes: PushQueue<AnyConnection>;
  readonly #noncePrefix = randomBytes(4).toString("hex");
  #nonceCounter = 0;
  #connectionCounter = 0;
  #closing = false;

  constructor(source: ResourceSource, options: AdsServerOptions) {
    this.#source = source;
    this.#logger = options.logger;
    this.#clock = options.clock ?? systemClock();
    this.#onEvent = options.onEvent;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.#pushes = new PushQueue({
      ...(options.pushSliceMs === undefined ? {} : { sliceMs: options.pushSliceMs }),
      onError: (error) =>
        this.#logger.error({ err: error }, `push failed: ${describeError(error)}`),
    });
    this.#ctx = {
      source,
      encoder: new ResourceEncoder(),
      logger: this.#logger,
      clock: this.#clock,
      emit: (event) => this.#emit(event),
      wildcardTypes: new Set(options.wildcardTypes ?? [TYPE_URL.listener, TYPE_URL.cluster]),
      nextNonce: () => `${this.#noncePrefix}-${(++this.#nonceCounter).toString(36)}`,
    };
  }

  /** Registers the ADS service (both stream kinds) on a grpc-js server. */
  bind(server: Server): void {
    const implementation = {
      StreamAggregatedResources: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) =>
        this.#accept(call, "sotw"),
      DeltaAggregatedResources: (
        call: ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>,
      ) => this.#accept(call, "delta"),
    };
    server.addService(SERVED_ADS, implementation as unknown as UntypedServiceImplementation);
  }

  /**
   * Recomputes the given connections (all when absent) and sends what changed, type by type.
   * Connections are pushed in turn, a time slice at a time (push-queue.ts): the first slice
   * before this returns, the rest in later turns of the event loop; a connection still waiting
   * from an earlier push is pushed once, from the latest resources. Resolves when no push is
   * left waiting.
   */
  push(connectionIds?: readonly string[]): Promise<void> {
    if (this.#closing) return Promise.resolve();
    const targets = connectionIds
      ? connectionIds.flatMap((id) => this.#connections.get(id) ?? [])
      : this.#connections.values();
    return this.#pushes.enqueue(targets);
  }

  connections(): ConnectionStatus[] {
    return [...this.#connections.values()].map((c) => c.status());
  }

  /** Ends every stream with UNAVAILABLE (clients reconnect elsewhere) and refuses new ones. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#pushes.clear();
    const streams = [...this.#streams];
    for (const stream of streams) stream.end(Status.UNAVAILABLE, "control plane shutting down");
    let timer: ReturnType<Clock["setTimeout"]> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, this.#closeTimeoutMs);
    });
    await Promise.race([Promise.all(streams.map((s) => s.done)), timeout]);
    if (timer) this.#clock.clearTimeout(timer);
  }

  #accept<Req extends AdsRequestLike, Res>(
    call: ServerDuplexStream<Req, Res>,
    protocol: Protocol,
  ): void {
    const stream: AdsStream<Req, Res> = new AdsStream<Req, Res>(
      call,
      {
        connect: (node) => this.#connect(node, call, protocol),
        closed: (s) => this.#closed(s),
      },
      this.#logger,
    );
    if (this.#closing) {
      stream.end(Status.UNAVAILABLE, "control plane shutting down");
      return;
    }
    this.#streams.add(stream);
    stream.done.then(() => this.#streams.delete(stream));
  }

  #connect<Req, Res>(
    node: JsonObject | undefined,
    call: ServerDuplexStream<Req, Res>,
    protocol: Protocol,
  ): Connection<Req, Res> | { code: Status; reason: string } {
    const nodeId = typeof node?.id === "string" && node.id !== "" ? node.id : "unknown";
    const id = `${nodeId}-${++this.#connectionCounter}`;
    let result: ReturnType<ResourceSource["connect"]>;
    try {
      result = this.#source.connect(node, id);
    } catch (error) {
      this.#logger.error({ connection: id, err: error }, `connect failed: ${describeError(error)}`);
      return { code: Status.INTERNAL, reason: "the control plane could not accept this proxy" };
    }
    if (!result.ok) {
      this.#logger.warn({ connection: id, reason: result.reason }, "ADS connection rejected");
      return { code: Status.INVALID_ARGUMENT, reason: result.reason };
    }
    const peerIdentity = peerUriSan(call);
    const identity = {
      id,
      nodeId,
      node,
      key: result.key,
      peer: safePeer(call),
      ...(peerIdentity ? { peerIdentity } : {}),
    };
    const connection: AnyConnection =
      protocol === "sotw"
        ? new SotwConnection(this.#ctx, identity, call as ServerDuplexStream<never, never>)
        : new DeltaConnection(this.#ctx, identity, call as ServerDuplexStream<never, never>);
    this.#connections.set(id, connection);
    this.#logger.info({ connection: id, protocol, peer: identity.peer }, "ADS connection");
    this.#emit({ kind: "connect", connectionId: id, nodeId, protocol });
    return connection;
  }

  #closed(stream: AnyStream): void {
    const connection = stream.connection;
    if (!connection || this.#connections.get(connection.identity.id) !== connection) return;
    const { id, nodeId } = connection.identity;
    this.#connections.delete(id);
    this.#pushes.remove(connection);
    try {
      this.#source.disconnect(id);
    } catch (error) {
      this.#logger.error(
        { connection: id, err: error },
        `disconnect failed: ${describeError(error)}`,
      );
    }
    this.#logger.info({ connection: id }, "ADS connection closed");
    this.#emit({ kind: "disconnect", connectionId: id, nodeId, protocol: connection.protocol });
  }

  #emit(event: AdsEvent): void {
    if (!this.#onEvent) return;
    try {
      this.#onEvent(event);
    } catch (error) {
      this.#logger.error({ err: error }, `ADS event listener failed: ${describeError(error)}`);
    }
  }
}

/**
 * The SPIFFE id of the client certificate a proxy presented on a TLS connection (the workload
 * certificate its agent got from the CA), as istiod authenticates xDS clients.
 */
function peerUriSan(call: {
  getAuthContext?(): { sslPeerCertificate?: { subjectaltname?: string } } | null;
}): string | undefined {
  try {
    const sans = call.getAuthContext?.()?.sslPeerCertificate?.subjectaltname ?? "";
    return sans
      .split(", ")
      .find((entry) => entry.startsWith("URI:"))
      ?.slice(4);
  } catch {
    return undefined;
  }
}

function safePeer(call: { getPeer(): string }): string {
  try {
    return call.getPeer();
  } catch {
    return "unknown";
  }
}
