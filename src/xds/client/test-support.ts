// Test helpers: a scripted ADS server on 127.0.0.1, async queues, a recording handler, resources.
import {
  Metadata,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  status as Status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { manualClock } from "../../base/clock.ts";
import { silentLogger } from "../../base/logger.ts";
import {
  ADS_SERVICE,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../discovery-messages.ts";
import type { JsonObject } from "../proto-json.ts";
import { encodeResource } from "../resource-codec.ts";
import { TYPE_URL } from "../type-urls.ts";
import type { Protocol, ResourceUpdate, TypeHandler, XdsClientEvents } from "./types.ts";
import { XdsClient } from "./xds-client.ts";

export const LDS = TYPE_URL.listener;
export const RDS = TYPE_URL.routeConfiguration;
export const CDS = TYPE_URL.cluster;
export const EDS = TYPE_URL.clusterLoadAssignment;
export const NODE: JsonObject = { id: "sidecar~10.0.0.1~web-1.shop~shop.svc.cluster.local" };

/** Items in arrival order; `next()` waits for one. No timeouts: vitest's bounds the wait. */
export class AsyncQueue<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  next(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  get size(): number {
    return this.#items.length;
  }
}

/** One stream the fake server accepted: its requests, and a way to answer or end it. */
export class FakeStream<Req, Res> {
  readonly protocol: Protocol;
  readonly requests = new AsyncQueue<Req>();
  /** Resolves when the client cancels or half-closes the stream. */
  readonly closedByClient: Promise<void>;
  readonly #call: ServerDuplexStream<Req, Res>;

  constructor(protocol: Protocol, call: ServerDuplexStream<Req, Res>) {
    this.protocol = protocol;
    this.#call = call;
    call.on("data", (request: Req) => this.requests.push(request));
    call.on("error", () => {});
    this.closedByClient = new Promise((resolve) => {
      call.on("cancelled", () => resolve());
      call.on("end", () => resolve());
    });
    call.sendMetadata(new Metadata());
  }

  next(): Promise<Req> {
    return this.requests.next();
  }

  send(response: Res): void {
    this.#call.write(response);
  }

  /** Ends the stream with an error status (the server "going away"). */
  fail(code: Status = Status.UNAVAILABLE, details = "going away"): void {
    this.#call.emit("error", { code, details });
  }
}

export type SotwStream = FakeStream<DiscoveryRequest, DiscoveryResponse>;
export type DeltaStream = FakeStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

/** An ADS server whose every step the test scripts: it only records requests and sends what the
 * test tells it to. */
export class FakeAdsServer {
  readonly port: number;
  readonly sotw: AsyncQueue<SotwStream>;
  readonly delta: AsyncQueue<DeltaStream>;
  readonly #server: Server;

  private constructor(
    server: Server,
    port: number,
    queues: { sotw: AsyncQueue<SotwStream>; delta: AsyncQueue<DeltaStream> },
  ) {
    this.#server = server;
    this.port = port;
    this.sotw = queues.sotw;
    this.delta = queues.delta;
  }

  /** Binds 127.0.0.1 on `port` (0: a free one; a stopped server's port to "restart" it). */
  static async start(port = 0): Promise<FakeAdsServer> {
    const server = new Server();
    const queues = { sotw: new AsyncQueue<SotwStream>(), delta: new AsyncQueue<DeltaStream>() };
    const implementation = {
      StreamAggregatedResources: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) =>
        queues.sotw.push(new FakeStream("sotw", call)),
      DeltaAggregatedResources: (
        call: ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>,
      ) => queues.delta.push(new FakeStream("delta", call)),
    };
    server.addService(ADS_SERVICE, implementation as unknown as UntypedServiceImplementation);
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    return new FakeAdsServer(server, bound, queues);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Drops every connection at once, as a crashing server would. */
  stop(): void {
    this.#server.forceShutdown();
  }
}

/** A handler that records updates and answers with scripted errors (or throws). */
export class RecordingHandler implements TypeHandler {
  readonly updates = new AsyncQueue<ResourceUpdate>();
  readonly #answers: (readonly string[] | Error)[] = [];
  /** Runs inside `apply`, before it answers (to act as a proxy reacting to its config). */
  onApply: ((update: ResourceUpdate) => void) | undefined;

  /** The next update gets these errors (or this exception); later ones are accepted. */
  answerNext(answer: readonly string[] | Error): void {
    this.#answers.push(answer);
  }

  apply(update: ResourceUpdate): { errors: readonly string[] } {
    this.updates.push(update);
    this.onApply?.(update);
    const answer = this.#answers.shift() ?? [];
    if (answer instanceof Error) throw answer;
    return { errors: answer };
  }
}

/** Every client event, queued by name. */
export class EventRecorder {
  readonly queues = new Map<keyof XdsClientEvents, AsyncQueue<unknown[]>>();

  constructor(client: XdsClient) {
    for (const name of ["connected", "disconnected", "retry", "update", "nack"] as const) {
      const queue = new AsyncQueue<unknown[]>();
      this.queues.set(name, queue);
      client.events.on(name, (...args: unknown[]) => queue.push(args));
    }
  }

  next<K extends keyof XdsClientEvents>(name: K): Promise<XdsClientEvents[K]> {
    return this.queues.get(name)!.next() as Promise<XdsClientEvents[K]>;
  }
}

/** A client of the server at `serverAddress` on a manual clock, with a small, deterministic back-off. */
export function testClient(serverAddress: string, protocol: Protocol) {
  const clock = manualClock();
  const client = new XdsClient({
    serverAddress,
    node: NODE,
    protocol,
    logger: silentLogger(),
    clock,
    backoff: { initialMs: 100, maxMs: 1000, random: () => 0.5 },
    // The channel's own reconnects (to a restarted server) should not take grpc's default 1 s.
    channelOptions: {
      "grpc.initial_reconnect_backoff_ms": 20,
      "grpc.max_reconnect_backoff_ms": 50,
    },
  });
  return { client, clock, events: new EventRecorder(client) };
}

export function listener(name: string, port = 8080): JsonObject {
  return {
    name,
    address: { socket_address: { address: "0.0.0.0", port_value: port } },
  };
}

export function route(name: string, domain = "*"): JsonObject {
  return { name, virtual_hosts: [{ name: `${name}-vh`, domains: [domain] }] };
}

export function sotwResponse(
  typeUrl: string,
  version: string,
  nonce: string,
  resources: JsonObject[],
): DiscoveryResponse {
  return {
    version_info: version,
    resources: resources.map((r) => encodeResource(typeUrl, r)),
    type_url: typeUrl,
    nonce,
  };
}

export function deltaResponse(
  typeUrl: string,
  nonce: string,
  resources: { version: string; json: JsonObject }[],
  removed: string[] = [],
  systemVersion = "",
): DeltaDiscoveryResponse {
  return {
    system_version_info: systemVersion,
    resources: resources.map(({ version, json }) => ({
      name: String(json.name),
      version,
      resource: encodeResource(typeUrl, json),
    })),
    type_url: typeUrl,
    removed_resources: removed,
    nonce,
  };
}

/** The fields of a SotW request the protocol defines (the decoder adds newer empty ones). */
export function sotwFields(request: DiscoveryRequest): Record<string, unknown> {
  const { version_info, resource_names, type_url, response_nonce, node, error_detail } = request;
  const fields: Record<string, unknown> = {
    version_info,
    resource_names,
    type_url,
    response_nonce,
  };
  if (node) fields.node = node;
  if (error_detail)
    fields.error_detail = { code: error_detail.code, message: error_detail.message };
  return fields;
}

export function deltaFields(request: DeltaDiscoveryRequest): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    type_url: request.type_url,
    resource_names_subscribe: request.resource_names_subscribe,
    resource_names_unsubscribe: request.resource_names_unsubscribe,
    initial_resource_versions: request.initial_resource_versions,
    response_nonce: request.response_nonce,
  };
  if (request.node) fields.node = request.node;
  const detail = request.error_detail;
  if (detail) fields.error_detail = { code: detail.code, message: detail.message };
  return fields;
}
