// Public contract of the ADS protocol engine: what it asks of a resource source, what it reports.
import type { Clock } from "../../base/clock.ts";
import type { Logger } from "../../base/logger.ts";
import type { JsonObject } from "../proto-json.ts";

/** What a connection asked for, for one type: every resource (wildcard) and/or these names. */
export interface SubscriptionView {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
}

/** The resources of one type for one connection, as proto3-JSON, keyed by resource name. */
export interface XdsResourceSet {
  /** Changes whenever any resource of the set changes; sent as version_info (SotW) and
   * system_version_info (delta). The engine itself decides "changed" by content hash. */
  version: string;
  /** Resources are treated as immutable: the engine caches their encoding per object. The map
   * too must not change once handed out (a change is a new map): the engine remembers what it
   * selected from it per subscription, for every connection given the same map. */
  resources: ReadonlyMap<string, JsonObject>;
}

export type ConnectResult = { ok: true; key: string } | { ok: false; reason: string };

/** Where the engine gets resources from. It knows nothing about Istio; the control plane does. */
export interface ResourceSource {
  /** A stream's first request arrived. `key` identifies the proxy for `resources`; a rejection
   * ends the stream with INVALID_ARGUMENT and `reason` as its details. */
  connect(node: JsonObject | undefined, connectionId: string): ConnectResult;
  /** Resources of `typeUrl` for that connection. The engine keeps only subscribed names, so a
   * source may return more than `subscription` asks for (it is a hint for on-demand sources). */
  resources(connectionKey: string, typeUrl: string, subscription: SubscriptionView): XdsResourceSet;
  /** The stream ended (for any reason). Called once per successful `connect`. */
  disconnect(connectionId: string): void;
}

export type Protocol = "sotw" | "delta";

/** Emitted for metrics: pushes, their ACK/NACK (with push-to-answer time), stream lifetime, and
 * resources that could not be encoded. */
export type AdsEvent =
  | { kind: "connect" | "disconnect"; connectionId: string; nodeId: string; protocol: Protocol }
  | {
      /** Once per connection and failing object (a later, different object fails anew). */
      kind: "encode-error";
      connectionId: string;
      nodeId: string;
      typeUrl: string;
      resource: string;
      message: string;
      /** The client keeps the resource's last version sent; false when it never had one. */
      keptPrevious: boolean;
    }
  | {
      kind: "push";
      connectionId: string;
      nodeId: string;
      typeUrl: string;
      version: string;
      nonce: string;
      /** Resources in the response; for delta, also the names removed. */
      resources: number;
      removed: number;
      bytes: number;
    }
  | {
      kind: "ack" | "nack";
      connectionId: string;
      nodeId: string;
      typeUrl: string;
      /** The version the client accepted (ack) or rejected (nack). */
      version: string;
      nonce: string;
      /** From sending the response to receiving its answer. */
      durationMs: number;
      /** The client's error_detail message (nack only). */
      message?: string;
    };

export interface SentStatus {
  version: string;
  nonce: string;
  at: number;
  resources: number;
}

export interface AnswerStatus {
  version: string;
  nonce: string;
  at: number;
}

export interface TypeStatus {
  typeUrl: string;
  wildcard: boolean;
  /** Explicitly subscribed names (besides the wildcard), sorted. */
  names: string[];
  lastSent?: SentStatus;
  lastAck?: AnswerStatus;
  lastNack?: AnswerStatus & { message: string };
  /** The last response sent has not been ACKed or NACKed yet. */
  awaitingAnswer: boolean;
  /** Subscribed resources that currently fail to encode (sorted by name), with the encoder's
   * message; the client keeps its last version of them. Absent when there are none. */
  encodeErrors?: { resource: string; message: string }[];
}

export interface ConnectionStatus {
  id: string;
  nodeId: string;
  node?: JsonObject;
  /** The key the source gave this connection. */
  key: string;
  peer: string;
  protocol: Protocol;
  connectedAt: number;
  types: TypeStatus[];
}

export interface AdsServerOptions {
  logger: Logger;
  clock?: Clock;
  onEvent?: (event: AdsEvent) => void;
  /** Types for which an initial request without names means "everything" (default LDS, CDS). */
  wildcardTypes?: readonly string[];
  /** How long `close()` waits for streams to finish before resolving anyway (default 5000). */
  closeTimeoutMs?: number;
  /** How long one slice of a push to many connections runs before other work gets a turn
   * (default 10 ms; see push-queue.ts). */
  pushSliceMs?: number;
}
