// Istio's HTTP metadata exchange, as its `peer_metadata` filter does it: the client sidecar adds
// `x-envoy-peer-metadata-id` (its node id) and `x-envoy-peer-metadata` (base64 of a serialized
// google.protobuf.Struct describing its workload) to every request it sends into the mesh; the
// server sidecar reads and strips them, and answers with its own pair on the response; the client
// reads and strips those. Each side then knows the other for its metrics. Also here: the
// endpoint metadata (`istio.workload`) a client falls back to when the server sends nothing, and
// the `baggage` encoding Istio can still read (a deprecated discovery method; sidecars do not
// send it). TCP carries the same Struct in-band (tcp-metadata-exchange.ts).
import { PASSTHROUGH_CLUSTER } from "../../api/istio-names.ts";
import { messageType } from "../../xds/envoy-protos.ts";
import { decodeJson, encodeJson, type JsonObject } from "../../xds/proto-json.ts";
import {
  APP_LABEL,
  CANONICAL_NAME_LABEL,
  CANONICAL_REVISION_LABEL,
  type ClusterLike,
  EMPTY_WORKLOAD,
  type LocalWorkload,
  ownerOf,
  VERSION_LABEL,
  type WorkloadMetadata,
  type WorkloadType,
  workloadFromNodeMetadata,
} from "./workload-labels.ts";

export const PEER_METADATA_ID_HEADER = "x-envoy-peer-metadata-id";
export const PEER_METADATA_HEADER = "x-envoy-peer-metadata";

/**
 * Istio's convertWorkloadMetadataToStruct: the Struct a proxy sends about itself. Keys are node
 * metadata keys (NAME, NAMESPACE, WORKLOAD_NAME, CLUSTER_ID, IDENTITY, LABELS, OWNER, REGION,
 * AVAILABILITY_ZONE); LABELS carries only the canonical-name, canonical-revision, app and
 * version labels. Empty fields are left out; LABELS is always present.
 */
export function buildPeerMetadataStruct(workload: WorkloadMetadata): JsonObject {
  const struct: JsonObject = {};
  const put = (target: JsonObject, key: string, value: string) => {
    if (value !== "") target[key] = value;
  };
  put(struct, "NAME", workload.instanceName);
  put(struct, "NAMESPACE", workload.namespace);
  put(struct, "WORKLOAD_NAME", workload.workloadName);
  put(struct, "CLUSTER_ID", workload.clusterId);
  put(struct, "IDENTITY", workload.identity);
  const labels: JsonObject = {};
  put(labels, CANONICAL_NAME_LABEL, workload.canonicalName);
  put(labels, CANONICAL_REVISION_LABEL, workload.canonicalRevision);
  put(labels, APP_LABEL, workload.app);
  put(labels, VERSION_LABEL, workload.version);
  struct.LABELS = labels;
  put(struct, "OWNER", ownerOf(workload));
  put(struct, "REGION", workload.region);
  put(struct, "AVAILABILITY_ZONE", workload.zone);
  return struct;
}

/** A copy with every object's keys sorted: protobuf's deterministic serialization of Struct. */
export function sortedKeys(value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(value).sort()) {
    const item = value[key]!;
    out[key] =
      typeof item === "object" && item !== null && !Array.isArray(item) ? sortedKeys(item) : item;
  }
  return out;
}

/** A google.protobuf.Struct serialized deterministically, as Istio serializes what it sends. */
export function encodeStructDeterministic(value: JsonObject): Uint8Array {
  return encodeJson(messageType("google.protobuf.Struct"), sortedKeys(value));
}

/** The `x-envoy-peer-metadata` value: standard base64, padded, of the deterministic Struct. */
export function encodePeerMetadata(workload: WorkloadMetadata): string {
  return Buffer.from(encodeStructDeterministic(buildPeerMetadataStruct(workload))).toString(
    "base64",
  );
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Reads an `x-envoy-peer-metadata` value (padded or not, as Envoy's decodeWithoutPadding
 * accepts). Older Istio proxies send their whole node metadata in the same Struct; the keys read
 * are the same. Undefined when the value is not base64 of a Struct.
 */
export function decodePeerMetadata(value: string): WorkloadMetadata | undefined {
  if (value === "" || !BASE64.test(value)) return undefined;
  let struct: JsonObject;
  try {
    struct = decodeJson(messageType("google.protobuf.Struct"), Buffer.from(value, "base64"));
  } catch {
    return undefined;
  }
  return Object.freeze(workloadFromNodeMetadata(struct));
}

export interface PeerMetadataHeaders {
  readonly id: string;
  readonly value: string;
}

/** The pair this proxy sends, computed once (Istio computes it when the filter is configured). */
export function buildPeerMetadataHeaders(local: LocalWorkload): PeerMetadataHeaders {
  return { id: local.nodeId, value: encodePeerMetadata(local.metadata) };
}

/** Istio's default bound on decoded peers kept per worker. */
export const DEFAULT_PEER_CACHE_SIZE = 500;

/**
 * Decoded peers, keyed by the header value, so a peer is decoded once and the same frozen object
 * comes back for every request from it (which is what lets the recorder cache by identity).
 * Like Istio's MX cache, it drops its oldest quarter when full. `decoder` reads a key (default:
 * an `x-envoy-peer-metadata` value).
 */
export class PeerMetadataCache {
  private readonly peers = new Map<string, WorkloadMetadata>();
  private readonly maxSize: number;
  private readonly decoder: (value: string) => WorkloadMetadata | undefined;

  constructor(
    maxSize = DEFAULT_PEER_CACHE_SIZE,
    decoder: (value: string) => WorkloadMetadata | undefined = decodePeerMetadata,
  ) {
    this.maxSize = maxSize;
    this.decoder = decoder;
  }

  /** The peer a header value describes, or undefined (absent or malformed header). */
  decode(value: string | undefined): WorkloadMetadata | undefined {
    if (value === undefined || value === "") return undefined;
    const cached = this.peers.get(value);
    if (cached) return cached;
    const peer = this.decoder(value);
    if (!peer || this.maxSize <= 0) return peer;
    if (this.peers.size >= this.maxSize) {
      let drop = Math.max(1, Math.floor(this.maxSize / 4));
      for (const key of this.peers.keys()) {
        this.peers.delete(key);
        if (--drop === 0) break;
      }
    }
    this.peers.set(value, peer);
    return peer;
  }

  get size(): number {
    return this.peers.size;
  }
}

/**
 * Whether the client side should leave the exchange headers off a request to this cluster:
 * Istio skips PassthroughCluster and clusters whose `istio` metadata says `external: true` when
 * `skip_external_clusters` is set, and always those marked `disable_mx: true`.
 */
export function skipPeerMetadataExchange(
  cluster: ClusterLike | undefined,
  skipExternalClusters: boolean,
): boolean {
  if (!cluster) return false;
  if (skipExternalClusters && cluster.name === PASSTHROUGH_CLUSTER) return true;
  const istio = cluster.metadata?.istio;
  if (skipExternalClusters && istio?.external === true) return true;
  return istio?.disable_mx === true;
}

/**
 * The endpoint's `istio.workload` metadata, `name;namespace;canonical-service;revision;cluster`,
 * which a client uses for the destination when the server sent no metadata (Istio's
 * convertEndpointMetadata: no app, version or instance; fewer than five parts is nothing).
 */
export function decodeEndpointWorkload(value: string): WorkloadMetadata | undefined {
  const parts = value.split(";");
  if (parts.length < 5) return undefined;
  return Object.freeze({
    ...EMPTY_WORKLOAD,
    workloadName: parts[0]!,
    namespace: parts[1]!,
    canonicalName: parts[2]!,
    canonicalRevision: parts[3]!,
    clusterId: parts[4]!,
  });
}

/** The same, read from an endpoint's `filter_metadata` (HostConfig.metadata fits). */
export function peerFromEndpointMetadata(
  filterMetadata: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined,
): WorkloadMetadata | undefined {
  const workload = filterMetadata?.istio?.workload;
  return typeof workload === "string" ? decodeEndpointWorkload(workload) : undefined;
}

const WORKLOAD_KEYS: ReadonlyMap<string, WorkloadType> = new Map([
  ["k8s.pod.name", "pod"],
  ["k8s.deployment.name", "deployment"],
  ["k8s.job.name", "job"],
  ["k8s.cronjob.name", "cronjob"],
]);

/**
 * Istio's WorkloadMetadataObject::baggage(): `k8s.<type>.name=…,service.name=…,app.name=…,
 * service.version=…,app.version=…,k8s.namespace.name=…,k8s.cluster.name=…,k8s.instance.name=…,
 * cloud.region=…,cloud.availability_zone=…`, app fields only where they differ from the service.
 */
export function encodeBaggage(workload: WorkloadMetadata): string {
  const parts: string[] = [];
  if (workload.workloadName !== "") {
    parts.push(`k8s.${workload.workloadType || "pod"}.name=${workload.workloadName}`);
  }
  if (workload.canonicalName !== "") parts.push(`service.name=${workload.canonicalName}`);
  if (workload.app !== "" && workload.app !== workload.canonicalName) {
    parts.push(`app.name=${workload.app}`);
  }
  if (workload.canonicalRevision !== "") {
    parts.push(`service.version=${workload.canonicalRevision}`);
  }
  if (workload.version !== "" && workload.version !== workload.canonicalRevision) {
    parts.push(`app.version=${workload.version}`);
  }
  const rest: [string, string][] = [
    ["k8s.namespace.name", workload.namespace],
    ["k8s.cluster.name", workload.clusterId],
    ["k8s.instance.name", workload.instanceName],
    ["cloud.region", workload.region],
    ["cloud.availability_zone", workload.zone],
  ];
  for (const [key, value] of rest) if (value !== "") parts.push(`${key}=${value}`);
  return parts.join(",");
}

/**
 * Istio's convertBaggageToWorkloadMetadata: service and app fields stand in for each other when
 * only one is present; unknown members are ignored.
 */
export function decodeBaggage(value: string): WorkloadMetadata {
  const w = { ...EMPTY_WORKLOAD } as {
    -readonly [K in keyof WorkloadMetadata]: WorkloadMetadata[K];
  };
  for (const member of value.split(",")) {
    const eq = member.indexOf("=");
    const key = (eq < 0 ? member : member.slice(0, eq)).trim();
    const v = eq < 0 ? "" : member.slice(eq + 1).trim();
    const type = WORKLOAD_KEYS.get(key);
    if (type) {
      w.workloadName = v;
      w.workloadType = type;
      continue;
    }
    switch (key) {
      case "k8s.namespace.name":
        w.namespace = v;
        break;
      case "k8s.cluster.name":
        w.clusterId = v;
        break;
      case "service.name":
        w.canonicalName = v;
        if (w.app === "") w.app = v;
        break;
      case "service.version":
        w.canonicalRevision = v;
        if (w.version === "") w.version = v;
        break;
      case "app.name":
        w.app = v;
        if (w.canonicalName === "") w.canonicalName = v;
        break;
      case "app.version":
        w.version = v;
        if (w.canonicalRevision === "") w.canonicalRevision = v;
        break;
      case "k8s.instance.name":
        w.instanceName = v;
        break;
      case "cloud.region":
        w.region = v;
        break;
      case "cloud.availability_zone":
        w.zone = v;
        break;
    }
  }
  return Object.freeze(w);
}
