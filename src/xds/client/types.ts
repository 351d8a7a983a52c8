// Public contract of the xDS client engine: what it asks of a type handler, its options, its status.
import type { ChannelCredentials, ChannelOptions } from "@grpc/grpc-js";
import type { Clock } from "../../base/clock.ts";
import type { Logger } from "../../base/logger.ts";
import type { JsonObject } from "../proto-json.ts";

export type Protocol = "sotw" | "delta";

/** One accepted-or-rejected step of a type's resources, as the server sent it. */
export interface ResourceUpdate {
  /** Resources added or changed, decoded to proto3 JSON, by name. For a full update, every
   * resource the client now has of this type (changed or not). */
  readonly added: ReadonlyMap<string, JsonObject>;
  /** Names the server says are gone: delta removed_resources; for a full update, the names
   * accepted before that are missing now. */
  readonly removed: readonly string[];
  /** `added` is the complete set (SotW Listener and Cluster): nothing else of this type exists.
   * Otherwise the update is incremental and resources not mentioned are unchanged. */
  readonly full: boolean;
  /** version_info (SotW) or system_version_info (delta) of the response; may be empty (delta). */
  readonly version: string;
  /** Version of each resource in `added`: delta's per-resource version, SotW's `version`. */
  readonly versions: ReadonlyMap<string, string>;
}

export interface ApplyResult {
  /** Every reason to reject; empty means the update is accepted (and ACKed). */
  readonly errors: readonly string[];
}

/**
 * Validates (and, when valid, applies) the updates of one resource type. The engine treats an
 * update as all-or-nothing: with errors, it NACKs and keeps the previously accepted version and
 * resource set, so the handler should keep its previous state too. A handler that throws counts
 * as rejecting with the exception's message. Handlers run synchronously inside the stream's
 * message handling; they may call `setResourceNames` (the change goes out with the ACK).
 */
export interface TypeHandler {
  apply(update: ResourceUpdate): ApplyResult;
}

export interface WatchOptions {
  /** Subscribe to every resource of the type (default: true for Listener and Cluster only). */
  wildcard?: boolean;
}

export interface BackoffOptions {
  /** First retry delay's upper bound (default 500, Envoy's xDS retry base). */
  initialMs?: number;
  /** Bound on any retry delay (default 30000, Envoy's). */
  maxMs?: number;
  /** Random source in [0, 1) for jitter; tests inject a constant. */
  random?: () => number;
}

export interface XdsClientOptions {
  /** gRPC target of the ADS server: "host:port", "dns:///host:port", "unix:///path". */
  serverAddress: string;
  /** Envoy's Node message as proto3 JSON (id, cluster, metadata, locality …). */
  node: JsonObject;
  protocol: Protocol;
  logger: Logger;
  /** Schedules reconnects and stamps status times (default: the system clock). */
  clock?: Clock;
  backoff?: BackoffOptions;
  /** Default insecure; pass TLS/mTLS credentials here. */
  credentials?: ChannelCredentials;
  /**
   * Called before each request is written; a promise holds that request and every later one
   * until it settles. A proxy whose workers apply what its main thread accepted holds its ACKs
   * this way, so the server hears an ACK only once every worker serves the config.
   */
  answerGate?: () => Promise<void> | undefined;
  /** Extra grpc-js channel options; they override crema's defaults (64 MiB receive limit,
   * keepalive every 5 minutes). */
  channelOptions?: ChannelOptions;
}

export interface TypeStatus {
  typeUrl: string;
  wildcard: boolean;
  /** Explicitly subscribed names, sorted. */
  names: string[];
  /** Last accepted version ("" before any). */
  version: string;
  /** Nonce of the last response received for the type on the current stream. */
  nonce: string;
  /** Number of accepted resources the engine tracks. */
  resources: number;
  /** When the last update was accepted (clock time). */
  acceptedAt?: number;
  /** The last NACK's message; cleared by the next accepted update. */
  lastError?: string;
  lastErrorAt?: number;
}

export interface XdsClientStatus {
  protocol: Protocol;
  serverAddress: string;
  /** A stream is up and the server has answered on it (headers or a response). */
  connected: boolean;
  perType: Map<string, TypeStatus>;
}

/** Events (XdsClient.events), for logs, metrics and readiness. */
export type XdsClientEvents = {
  /** A stream is up: the server sent headers or a response. */
  connected: [];
  /** A connected stream ended (not emitted for close()). */
  disconnected: [reason: string];
  /** A stream ended, for any reason other than close(); the next attempt is in `delayMs`. */
  retry: [info: { reason: string; attempt: number; delayMs: number }];
  /** An update of `typeUrl` was accepted and ACKed. */
  update: [typeUrl: string, version: string];
  /** An update was rejected: NACKed with `errors` (the rejected response's version). */
  nack: [typeUrl: string, version: string, errors: readonly string[]];
};
