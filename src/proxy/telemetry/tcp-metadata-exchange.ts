// Istio's in-band metadata exchange for TCP (the `istio.metadata_exchange` network filter, on a
// sidecar's inbound chains and as an upstream filter on outbound clusters): on a connection whose
// TLS negotiated the filter's ALPN protocol (`istio-peer-exchange`), each side first sends one
// framed message about itself and reads the other's before passing bytes on.
//
// The frame: the magic 0x3D230467, then the payload's length, both 32-bit big-endian, then the
// payload — a google.protobuf.Any holding a google.protobuf.Struct with the sender's workload
// Struct under `x-envoy-peer-metadata` (the same Struct the HTTP exchange sends) and its node id
// under `x-envoy-peer-metadata-id`.
//
// Reading follows Istio's filter: a wrong magic means the peer has no such filter, so every byte
// passes on untouched; a payload that is not an Any is given up with the frame's first 8 bytes
// dropped and the rest passed on; the end of the stream before 8 bytes arrived passes on what
// came; a well-formed frame is consumed whether or not it names a workload. Istio's filter
// would wait for a payload of any length; crema gives up on one longer than
// MAX_EXCHANGE_PAYLOAD_BYTES and resets the connection, rather than buffer it.
import { messageType } from "../../xds/envoy-protos.ts";
import { decodeJson, encodeJson, type JsonObject } from "../../xds/proto-json.ts";
import {
  buildPeerMetadataStruct,
  PEER_METADATA_HEADER,
  PEER_METADATA_ID_HEADER,
  PeerMetadataCache,
  sortedKeys,
} from "./peer-metadata.ts";
import {
  type LocalWorkload,
  type WorkloadMetadata,
  workloadFromNodeMetadata,
} from "./workload-labels.ts";

/** The ALPN protocol Istio's clients offer and its servers accept for the exchange. */
export const ISTIO_PEER_EXCHANGE = "istio-peer-exchange";
export const EXCHANGE_MAGIC = 0x3d230467;
/** Magic and length. */
export const EXCHANGE_HEADER_BYTES = 8;
/** Far above what any Istio proxy sends (about 1 KiB; older ones a few KiB of node metadata). */
export const MAX_EXCHANGE_PAYLOAD_BYTES = 64 * 1024;

const STRUCT_TYPE_URL = "type.googleapis.com/google.protobuf.Struct";
const EMPTY = Buffer.alloc(0);

/** The frame this proxy sends on every exchanging connection, built once. */
export function encodeExchangeFrame(local: LocalWorkload): Buffer {
  const data: JsonObject = { [PEER_METADATA_HEADER]: buildPeerMetadataStruct(local.metadata) };
  if (local.nodeId !== "") data[PEER_METADATA_ID_HEADER] = local.nodeId;
  // The reflective encoder, not protobufjs's generated one: no code to generate as a proxy starts.
  const payload = encodeJson(messageType("google.protobuf.Any"), {
    "@type": STRUCT_TYPE_URL,
    value: sortedKeys(data),
  });
  const frame = Buffer.alloc(EXCHANGE_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(EXCHANGE_MAGIC, 0);
  frame.writeUInt32BE(payload.length, 4);
  frame.set(payload, EXCHANGE_HEADER_BYTES);
  return frame;
}

/** What a frame's payload says: not an Any at all, or the peer it names (if any). */
export type ExchangePayload =
  | { readonly kind: "unparsable" }
  | { readonly kind: "read"; readonly peer: WorkloadMetadata | undefined };

const UNPARSABLE: ExchangePayload = Object.freeze({ kind: "unparsable" });
const NO_PEER: ExchangePayload = Object.freeze({ kind: "read", peer: undefined });

/** The workload Struct inside a Struct value's bytes (a key of the cache, latin1). */
function decodeWorkloadStruct(key: string): WorkloadMetadata | undefined {
  let data: JsonObject;
  try {
    data = decodeJson(messageType("google.protobuf.Struct"), Buffer.from(key, "latin1"));
  } catch {
    return undefined;
  }
  const workload = data[PEER_METADATA_HEADER];
  if (typeof workload !== "object" || workload === null || Array.isArray(workload))
    return undefined;
  return Object.freeze(workloadFromNodeMetadata(workload));
}

/**
 * Decodes payloads into peers, each distinct Struct once, so every connection from one peer gets
 * the same frozen object (the recorder caches label sets by it).
 */
export class ExchangePayloadDecoder {
  private readonly peers = new PeerMetadataCache(undefined, decodeWorkloadStruct);

  decode(payload: Uint8Array): ExchangePayload {
    let any: { type_url?: string; value?: Uint8Array };
    try {
      any = messageType("google.protobuf.Any").decode(payload) as typeof any;
    } catch {
      return UNPARSABLE;
    }
    // Envoy unpacks by the type's full name, whatever the URL's host part.
    const url = any.type_url ?? "";
    if (url.slice(url.lastIndexOf("/") + 1) !== "google.protobuf.Struct") return NO_PEER;
    const value = any.value ?? EMPTY;
    const peer = this.peers.decode(Buffer.from(value).toString("latin1"));
    return peer ? { kind: "read", peer } : NO_PEER;
  }
}

type ReaderState = "header" | "payload" | "done";

/**
 * One direction of one connection: takes the peer's frame off the front of the bytes and hands
 * on what follows. `onSettled` hears once what the exchange came to (the peer, or undefined when
 * it named none or never happened).
 */
export class ExchangeReader {
  private state: ReaderState = "header";
  private held: Buffer[] = [];
  private heldBytes = 0;
  private payloadBytes = 0;
  /** The peer announced a payload too long to hold: the connection must be reset. */
  oversized = false;
  private readonly decoder: ExchangePayloadDecoder;
  private readonly onSettled: (peer: WorkloadMetadata | undefined) => void;

  constructor(
    decoder: ExchangePayloadDecoder,
    onSettled: (peer: WorkloadMetadata | undefined) => void,
  ) {
    this.decoder = decoder;
    this.onSettled = onSettled;
  }

  get done(): boolean {
    return this.state === "done";
  }

  /** A chunk read from the peer; returns the bytes to pass on (none while the frame is partial). */
  read(chunk: Buffer): Buffer {
    if (this.state === "done") return chunk;
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.state === "header") {
      if (this.heldBytes < EXCHANGE_HEADER_BYTES) return EMPTY;
      const bytes = this.take();
      if (bytes.readUInt32BE(0) !== EXCHANGE_MAGIC) return this.settle(undefined, bytes);
      const length = bytes.readUInt32BE(4);
      if (length > MAX_EXCHANGE_PAYLOAD_BYTES) {
        this.oversized = true;
        return this.settle(undefined, EMPTY);
      }
      this.payloadBytes = length;
      this.state = "payload";
      const rest = bytes.subarray(EXCHANGE_HEADER_BYTES);
      this.held = rest.length > 0 ? [rest] : [];
      this.heldBytes = rest.length;
    }
    if (this.heldBytes < this.payloadBytes) return EMPTY;
    const bytes = this.take();
    const outcome = this.decoder.decode(bytes.subarray(0, this.payloadBytes));
    if (outcome.kind === "unparsable") return this.settle(undefined, bytes);
    return this.settle(outcome.peer, bytes.subarray(this.payloadBytes));
  }

  /**
   * The peer ended its stream before the frame was whole: what to pass on. Istio lets through
   * what came before the 8-byte header completed, and nothing of a partial payload.
   */
  end(): Buffer {
    if (this.state === "done") return EMPTY;
    const partialHeader = this.state === "header";
    const bytes = this.take();
    return this.settle(undefined, partialHeader ? bytes : EMPTY);
  }

  private take(): Buffer {
    const bytes = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held);
    this.held = [];
    this.heldBytes = 0;
    return bytes;
  }

  private settle(peer: WorkloadMetadata | undefined, passOn: Buffer): Buffer {
    this.state = "done";
    this.held = [];
    this.heldBytes = 0;
    this.onSettled(peer);
    return passOn;
  }
}
