// Who the metrics say talked: the local workload, read once from the proxy's node metadata the
// way Istio's stats filter reads it, the peer workload as metadata exchange describes it, and the
// destination service, read from the upstream cluster. Pure functions over values the proxy
// already holds; the recorder turns them into label values once per stream key.
import {
  BLACKHOLE_CLUSTER,
  DEFAULT_DOMAIN_SUFFIX,
  INBOUND_PASSTHROUGH_CLUSTER,
  PASSTHROUGH_CLUSTER,
  parseClusterName,
  spiffeId,
} from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { LATEST } from "./metric-definitions.ts";

/** The workload kinds Istio's `OWNER` metadata names (`…/deployments/reviews-v1`). */
export type WorkloadType = "pod" | "deployment" | "job" | "cronjob" | "";

/**
 * A workload as Istio's metadata exchange describes it (its WorkloadMetadataObject): every field
 * is a string and "" means "not known", which the metrics turn into `unknown` (or `latest`).
 */
export interface WorkloadMetadata {
  /** NAME: the pod. */
  readonly instanceName: string;
  readonly namespace: string;
  readonly workloadName: string;
  /** CLUSTER_ID. */
  readonly clusterId: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly app: string;
  readonly version: string;
  readonly workloadType: WorkloadType;
  /** IDENTITY: the workload's SPIFFE id, when the sender states it. */
  readonly identity: string;
  readonly region: string;
  readonly zone: string;
}

export const EMPTY_WORKLOAD: WorkloadMetadata = Object.freeze({
  instanceName: "",
  namespace: "",
  workloadName: "",
  clusterId: "",
  canonicalName: "",
  canonicalRevision: "",
  app: "",
  version: "",
  workloadType: "",
  identity: "",
  region: "",
  zone: "",
});

export const CANONICAL_NAME_LABEL = "service.istio.io/canonical-name";
export const CANONICAL_REVISION_LABEL = "service.istio.io/canonical-revision";
export const APP_NAME_QUALIFIED_LABEL = "app.kubernetes.io/name";
export const APP_VERSION_QUALIFIED_LABEL = "app.kubernetes.io/version";
export const APP_LABEL = "app";
export const VERSION_LABEL = "version";
/** `OWNER` values start with this, then `<ns>/<type>s/<workload>`. */
export const OWNER_PREFIX = "kubernetes://apis/apps/v1/namespaces/";
const WORKLOAD_TYPES: ReadonlySet<string> = new Set(["pod", "deployment", "job", "cronjob"]);

type Labels = Readonly<Record<string, string>>;

function firstLabel(labels: Labels, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = labels[key];
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * Istio's CanonicalService (pkg/kube/labels), which the injector writes onto every pod: the
 * name from `service.istio.io/canonical-name`, `app.kubernetes.io/name`, `app`, else the
 * workload name; the revision from `service.istio.io/canonical-revision`,
 * `app.kubernetes.io/version`, `version`, else "latest".
 */
export function canonicalService(
  labels: Labels,
  workloadName: string,
): { name: string; revision: string } {
  return {
    name:
      firstLabel(labels, [CANONICAL_NAME_LABEL, APP_NAME_QUALIFIED_LABEL, APP_LABEL]) ??
      workloadName,
    revision:
      firstLabel(labels, [CANONICAL_REVISION_LABEL, APP_VERSION_QUALIFIED_LABEL, VERSION_LABEL]) ??
      LATEST,
  };
}

/** The workload type an `OWNER` names, when it ends in `/<type>s/<workloadName>` (Istio's parseOwner). */
export function workloadTypeFromOwner(owner: string, workloadName: string): WorkloadType {
  if (owner.length <= workloadName.length + 2) return "";
  const head = owner.slice(0, owner.length - workloadName.length - 2);
  const type = head.slice(head.lastIndexOf("/") + 1);
  return WORKLOAD_TYPES.has(type) ? (type as WorkloadType) : "";
}

/** `kubernetes://apis/apps/v1/namespaces/<ns>/<type>s/<workload>`, or "" for an unknown type. */
export function ownerOf(workload: WorkloadMetadata): string {
  if (workload.workloadType === "") return "";
  return `${OWNER_PREFIX}${workload.namespace}/${workload.workloadType}s/${workload.workloadName}`;
}

/** The namespace inside `spiffe://<td>/ns/<namespace>/sa/<sa>`, or "" (the filter's getNamespace). */
export function namespaceFromPrincipal(principal: string): string {
  const at = principal.indexOf("/ns/");
  if (at < 0) return "";
  const begin = at + 4;
  const end = principal.indexOf("/", begin);
  return end < 0 ? principal.slice(begin) : principal.slice(begin, end);
}

/** The local workload's side of the labels, resolved once when the proxy starts. */
export interface LocalWorkload {
  /** The node id, sent as `x-envoy-peer-metadata-id`. */
  readonly nodeId: string;
  /** What this proxy tells its peers about itself (`x-envoy-peer-metadata`). */
  readonly metadata: WorkloadMetadata;
  /**
   * Label values for the local end of a metric. Istio's stats filter reads these straight from
   * the node metadata: WORKLOAD_NAME, NAMESPACE, CLUSTER_ID and the `app`, `version` and
   * canonical labels of LABELS ("" when absent; only the peer end falls back to `unknown`).
   */
  readonly labels: {
    readonly workload: string;
    readonly namespace: string;
    readonly canonicalService: string;
    readonly canonicalRevision: string;
    readonly app: string;
    readonly version: string;
    readonly cluster: string;
  };
  /**
   * The SPIFFE id in the workload's certificate. A metric shows a principal only for an mTLS
   * connection, where the TLS layer reports it; this is what that will be.
   */
  readonly principal: string;
}

export interface LocalWorkloadOptions {
  /** Default `cluster.local`, Istio's default trust domain. */
  readonly trustDomain?: string;
}

function stringField(object: JsonObject | undefined, key: string): string {
  const value = object?.[key];
  return typeof value === "string" ? value : "";
}

function objectField(object: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = object?.[key];
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
}

function stringLabels(object: JsonObject | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(object ?? {})) {
    if (typeof value === "string") labels[key] = value;
  }
  return labels;
}

/**
 * The local workload from the proxy's xDS Node (proto3 JSON, as `buildProxyNode` makes it).
 * Istio's injector writes the canonical-name and canonical-revision labels onto every pod, so
 * pilot-agent's LABELS always carry them; crema's pods may not, so the same defaults are applied
 * here (`canonicalService`). Everything else is read as Istio's stats filter and peer metadata
 * filter read it.
 */
export function localWorkloadFromNode(
  node: JsonObject,
  options: LocalWorkloadOptions = {},
): LocalWorkload {
  const meta = objectField(node, "metadata");
  const labels = stringLabels(objectField(meta, "LABELS"));
  const workloadName = stringField(meta, "WORKLOAD_NAME");
  const namespace = stringField(meta, "NAMESPACE");
  const canonical = canonicalService(labels, workloadName);
  const withCanonical: Labels = {
    ...labels,
    [CANONICAL_NAME_LABEL]: canonical.name,
    [CANONICAL_REVISION_LABEL]: canonical.revision,
  };
  const locality = objectField(node, "locality");
  const metadata = workloadFromNodeMetadata({
    ...meta,
    LABELS: withCanonical,
    ...(stringField(meta, "REGION") === "" && stringField(locality, "region") !== ""
      ? { REGION: stringField(locality, "region") }
      : {}),
    ...(stringField(meta, "AVAILABILITY_ZONE") === "" && stringField(locality, "zone") !== ""
      ? { AVAILABILITY_ZONE: stringField(locality, "zone") }
      : {}),
  });
  const serviceAccount = stringField(meta, "SERVICE_ACCOUNT") || "default";
  return {
    nodeId: stringField(node, "id"),
    metadata,
    labels: {
      workload: workloadName,
      namespace,
      canonicalService: canonical.name,
      canonicalRevision: canonical.revision,
      app: labels[APP_LABEL] ?? "",
      version: labels[VERSION_LABEL] ?? "",
      cluster: stringField(meta, "CLUSTER_ID"),
    },
    principal: spiffeId(options.trustDomain ?? DEFAULT_DOMAIN_SUFFIX, namespace, serviceAccount),
  };
}

/**
 * Istio's convertStructToWorkloadMetadata: a workload from node metadata (or from a peer's
 * exchanged Struct, which has the same keys). `app` and `version` prefer the
 * `app.kubernetes.io/*` labels; other labels are not carried.
 */
export function workloadFromNodeMetadata(metadata: JsonObject): WorkloadMetadata {
  const labels = objectField(metadata, "LABELS");
  const workloadName = stringField(metadata, "WORKLOAD_NAME");
  return {
    instanceName: stringField(metadata, "NAME"),
    namespace: stringField(metadata, "NAMESPACE"),
    workloadName,
    clusterId: stringField(metadata, "CLUSTER_ID"),
    canonicalName: stringField(labels, CANONICAL_NAME_LABEL),
    canonicalRevision: stringField(labels, CANONICAL_REVISION_LABEL),
    app: stringField(labels, APP_NAME_QUALIFIED_LABEL) || stringField(labels, APP_LABEL),
    version: stringField(labels, APP_VERSION_QUALIFIED_LABEL) || stringField(labels, VERSION_LABEL),
    workloadType: workloadTypeFromOwner(stringField(metadata, "OWNER"), workloadName),
    identity: stringField(metadata, "IDENTITY"),
    region: stringField(metadata, "REGION"),
    zone: stringField(metadata, "AVAILABILITY_ZONE"),
  };
}

/**
 * The destination service of a stream: `destination_service` (host), `destination_service_name`
 * and, when the cluster says, `destination_service_namespace`. "" means not known; the reporter
 * decides the fallback (`unknown` at the source, the local canonical service at the destination).
 */
export interface DestinationService {
  readonly host: string;
  readonly name: string;
  readonly namespace: string;
  /** True when the answer is read from the request's Host, so it may vary per request. */
  readonly usesHost: boolean;
}

/** The parts of an upstream cluster the destination service is read from (ClusterConfig fits). */
export interface ClusterLike {
  readonly name: string;
  /** The cluster's `filter_metadata`; Istio writes `istio.services` on service clusters. */
  readonly metadata?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export interface DestinationServiceInput {
  readonly cluster?: ClusterLike;
  /** The matched route's name: Istio names its catch-all routes `allow_any` and `block_all`. */
  readonly routeName?: string;
  /** The request's Host (`:authority`); absent for TCP. */
  readonly host?: string;
}

const PASSTHROUGH_NAMES: ReadonlySet<string> = new Set([
  BLACKHOLE_CLUSTER,
  PASSTHROUGH_CLUSTER,
  INBOUND_PASSTHROUGH_CLUSTER,
  `${INBOUND_PASSTHROUGH_CLUSTER}Ipv4`,
  `${INBOUND_PASSTHROUGH_CLUSTER}Ipv6`,
]);

function firstService(cluster: ClusterLike): Readonly<Record<string, unknown>> | undefined {
  const services = cluster.metadata?.istio?.services;
  if (!Array.isArray(services) || services.length === 0) return undefined;
  const first: unknown = services[0];
  return typeof first === "object" && first !== null
    ? (first as Readonly<Record<string, unknown>>)
    : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * Istio's derivation: start from the Host header; the catch-all routes and the passthrough and
 * blackhole clusters name themselves; otherwise the cluster's `istio.services[0]` gives host,
 * name (else the host's first label) and namespace. When a cluster carries no such metadata
 * (a control plane other than istiod or crema), crema reads the host from an
 * `outbound|port|subset|host` cluster name before falling back to the Host header.
 */
export function resolveDestinationService(input: DestinationServiceInput): DestinationService {
  const hostHeader = input.host ?? "";
  const cluster = input.cluster;
  if (input.routeName === "block_all" || input.routeName === "allow_any") {
    const name = input.routeName === "block_all" ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
    return { host: hostHeader, name, namespace: "", usesHost: true };
  }
  if (cluster && PASSTHROUGH_NAMES.has(cluster.name)) {
    return { host: hostHeader, name: cluster.name, namespace: "", usesHost: true };
  }
  const service = cluster ? firstService(cluster) : undefined;
  if (service) {
    const host = text(service.host) ?? hostHeader;
    const name = text(service.name) ?? host.slice(0, firstDot(host));
    return {
      host,
      name,
      namespace: text(service.namespace) ?? "",
      usesHost: text(service.host) === undefined,
    };
  }
  const parsed = cluster ? parseClusterName(cluster.name) : undefined;
  if (parsed?.direction === "outbound" && parsed.host !== "") {
    return {
      host: parsed.host,
      name: parsed.host.slice(0, firstDot(parsed.host)),
      namespace: kubernetesNamespace(parsed.host),
      usesHost: false,
    };
  }
  return { host: hostHeader, name: hostHeader, namespace: "", usesHost: true };
}

function firstDot(host: string): number {
  const dot = host.indexOf(".");
  return dot < 0 ? host.length : dot;
}

/** `<name>.<namespace>.svc.<domain>` → namespace; other hosts say nothing about one. */
function kubernetesNamespace(host: string): string {
  const parts = host.split(".");
  return parts.length >= 4 && parts[2] === "svc" ? parts[1]! : "";
}

/** Most Host-dependent services kept per cluster; past it each lookup builds a fresh value. */
const MAX_HOSTS_PER_CLUSTER = 1000;

/**
 * Resolved destination services, one object per cluster (or per cluster and Host where the
 * answer depends on the Host), so the recorder can key its label cache on object identity. Keyed
 * weakly on the cluster object: a new xDS version of a cluster resolves afresh.
 */
export class DestinationServiceCache {
  private readonly byCluster = new WeakMap<ClusterLike, ClusterEntry>();
  private readonly noCluster: ClusterEntry = { fixed: undefined, byRoute: new Map() };

  resolve(cluster: ClusterLike | undefined, routeName = "", host = ""): DestinationService {
    let entry = cluster ? this.byCluster.get(cluster) : this.noCluster;
    if (!entry) {
      entry = { fixed: undefined, byRoute: new Map() };
      this.byCluster.set(cluster!, entry);
    }
    const catchAll = routeName === "block_all" || routeName === "allow_any" ? routeName : "";
    if (catchAll === "" && entry.fixed) return entry.fixed;
    let byHost = entry.byRoute.get(catchAll);
    const cached = byHost?.get(host);
    if (cached) return cached;
    const resolved = resolveDestinationService({
      ...(cluster ? { cluster } : {}),
      routeName: catchAll,
      host,
    });
    if (catchAll === "" && !resolved.usesHost) {
      entry.fixed = resolved;
      return resolved;
    }
    if (!byHost) {
      byHost = new Map();
      entry.byRoute.set(catchAll, byHost);
    }
    if (byHost.size < MAX_HOSTS_PER_CLUSTER) byHost.set(host, resolved);
    return resolved;
  }
}

interface ClusterEntry {
  fixed: DestinationService | undefined;
  byRoute: Map<string, Map<string, DestinationService>>;
}
