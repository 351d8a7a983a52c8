// Test helpers: a mutable fake ResourceSource, an ADS server on 127.0.0.1:0 and raw ADS clients.
import type { EventEmitter } from "node:events";
import {
  type ClientDuplexStream,
  credentials,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type StatusObject,
} from "@grpc/grpc-js";
import { silentLogger } from "../../base/logger.ts";
import {
  ADS_SERVICE,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../discovery-messages.ts";
import type { JsonObject } from "../proto-json.ts";
import { type AnyMessage, decodeResource } from "../resource-codec.ts";
import { TYPE_URL } from "../type-urls.ts";
import { AdsServer } from "./ads-server.ts";
import type { AdsEvent, ConnectResult, ResourceSource, XdsResourceSet } from "./types.ts";

export const CDS = TYPE_URL.cluster;
export const EDS = TYPE_URL.clusterLoadAssignment;
export const LDS = TYPE_URL.listener;
export const RDS = TYPE_URL.routeConfiguration;

export function cluster(name: string, timeout = "1s"): JsonObject {
  return {
    name,
    type: "EDS",
    connect_timeout: timeout,
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" } },
  };
}

export function endpoints(name: string, port: number): JsonObject {
  const address = { socket_address: { address: "127.0.0.1", port_value: port } };
  return { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address } }] }] };
}

/** Resources by type URL and name; `nodes` overrides them for one node id. Bump `version`. */
export class FakeSource implements ResourceSource {
  readonly shared = new Map<string, Map<string, JsonObject>>();
  readonly nodes = new Map<string, Map<string, Map<string, JsonObject>>>();
  readonly rejected = new Map<string, string>();
  readonly connected = new Map<string, string>();
  readonly disconnected: string[] = [];
  version = 1;

  /** Maps handed out are never changed afterwards (ResourceSource's contract): a change makes
   * a new one. */
  set(typeUrl: string, name: string, json: JsonObject, nodeId?: string): void {
    const byType = nodeId ? this.#forNode(nodeId) : this.shared;
    byType.set(typeUrl, new Map(byType.get(typeUrl)).set(name, json));
    this.version++;
  }

  delete(typeUrl: string, name: string): void {
    const resources = new Map(this.shared.get(typeUrl));
    resources.delete(name);
    this.shared.set(typeUrl, resources);
    this.version++;
  }

  connect(node: JsonObject | undefined, connectionId: string): ConnectResult {
    const nodeId = typeof node?.id === "string" ? node.id : "";
    const reason = this.rejected.get(nodeId);
    if (reason) return { ok: false, reason };
    this.connected.set(connectionId, nodeId);
    return { ok: true, key: nodeId };
  }

  resources(key: string, typeUrl: string): XdsResourceSet {
    const resources = this.nodes.get(key)?.get(typeUrl) ?? this.shared.get(typeUrl) ?? new Map();
    return { version: `v${this.version}`, resources };
  }

  disconnect(connectionId: string): void {
    this.disconnected.push(connectionId);
  }

  #forNode(nodeId: string) {
    const existing = this.nodes.get(nodeId);
    if (existing) return existing;
    const created = new Map<string, Map<string, JsonObject>>();
    this.nodes.set(nodeId, created);
    return created;
  }
}

/** Queues a stream's messages; `next()` fails if the stream ends first. */
export class Reader<T> {
  readonly #items: T[] = [];
  readonly #waiters: { resolve: (item: T) => void; reject: (error: Error) => void }[] = [];
  readonly status: Promise<StatusObject>;

  constructor(stream: EventEmitter) {
    stream.on("data", (item: T) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(item);
      else this.#items.push(item);
    });
    stream.on("error", () => {}); // the status carries it
    this.status = new Promise((resolve) => {
      stream.on("status", (status: StatusObject) => {
        resolve(status);
        for (const waiter of this.#waiters.splice(0))
          waiter.reject(new Error(`stream ended: ${status.code} ${status.details}`));
      });
    });
  }

  next(): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  get buffered(): number {
    return this.#items.length;
  }
}

/** Records server events; `waitFor` resolves with the first matching one not yet returned. */
export class EventLog {
  readonly events: AdsEvent[] = [];
  readonly #returned = new Set<AdsEvent>();
  readonly #waiters: { match: (e: AdsEvent) => boolean; resolve: (e: AdsEvent) => void }[] = [];

  readonly record = (event: AdsEvent): void => {
    this.events.push(event);
    const i = this.#waiters.findIndex((w) => w.match(event));
    if (i < 0) return;
    this.#returned.add(event);
    this.#waiters.splice(i, 1)[0]!.resolve(event);
  };

  waitFor(match: (e: AdsEvent) => boolean): Promise<AdsEvent> {
    const found = this.events.find((e) => !this.#returned.has(e) && match(e));
    if (found) {
      this.#returned.add(found);
      return Promise.resolve(found);
    }
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}

interface AdsClient {
  StreamAggregatedResources(): ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  DeltaAggregatedResources(): ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  close(): void;
}

const AdsClientConstructor = makeGenericClientConstructor(
  ADS_SERVICE,
  "AggregatedDiscoveryService",
);

export interface Harness {
  source: FakeSource;
  ads: AdsServer;
  events: EventLog;
  address: string;
  sotw(): {
    stream: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
    reader: Reader<DiscoveryResponse>;
  };
  delta(): {
    stream: ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
    reader: Reader<DeltaDiscoveryResponse>;
  };
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const source = new FakeSource();
  const events = new EventLog();
  const ads = new AdsServer(source, { logger: silentLogger(), onEvent: events.record });
  const server = new Server();
  ads.bind(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const address = `127.0.0.1:${port}`;
  const client = new AdsClientConstructor(
    address,
    credentials.createInsecure(),
  ) as unknown as AdsClient;
  return {
    source,
    ads,
    events,
    address,
    sotw() {
      const stream = client.StreamAggregatedResources();
      return { stream, reader: new Reader(stream) };
    },
    delta() {
      const stream = client.DeltaAggregatedResources();
      return { stream, reader: new Reader(stream) };
    },
    async stop() {
      client.close();
      await ads.close();
      server.forceShutdown();
    },
  };
}

export function request(
  typeUrl: string,
  names: string[],
  extra: Partial<DiscoveryRequest> = {},
): DiscoveryRequest {
  return {
    version_info: "",
    resource_names: names,
    type_url: typeUrl,
    response_nonce: "",
    ...extra,
  };
}

export function deltaRequest(typeUrl: string, extra: Partial<DeltaDiscoveryRequest> = {}) {
  return {
    type_url: typeUrl,
    resource_names_subscribe: [],
    resource_names_unsubscribe: [],
    initial_resource_versions: {},
    response_nonce: "",
    ...extra,
  } satisfies DeltaDiscoveryRequest;
}

/** An ACK of `response`, keeping `names` subscribed. */
export function ack(response: DiscoveryResponse, names: string[]): DiscoveryRequest {
  return request(response.type_url, names, {
    version_info: response.version_info,
    response_nonce: response.nonce,
  });
}

/** The decoded resources of a response, by name (cluster_name for endpoints). */
export function decoded(resources: readonly AnyMessage[]): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  for (const any of resources) {
    const json = decodeResource(any);
    out[String(json.name ?? json.cluster_name)] = json;
  }
  return out;
}

export function namesOf(resources: readonly AnyMessage[]): string[] {
  return Object.keys(decoded(resources)).sort();
}
