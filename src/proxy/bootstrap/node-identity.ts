// The proxy's xDS Node, built the way pilot-agent builds Envoy's: identity from the pod's
// environment (POD_NAME, POD_NAMESPACE, INSTANCE_IP, SERVICE_ACCOUNT, ISTIO_META_*,
// ISTIO_METAJSON_*), with `crema proxy`'s flags over it. The control plane reads this node back.

import { isIP } from "node:net";
import { compareStrings } from "../../base/compare.ts";
import { CremaError } from "../../base/errors.ts";
import {
  isDns1123Label,
  isDns1123Subdomain,
  labelKeyProblem,
  labelValueProblem,
} from "../../config/metadata-rules.ts";
import type { Json, JsonObject } from "../../xds/proto-json.ts";
import type { ProxyType } from "../proxy-options.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** What `crema proxy`'s flags say about the node; each overrides its environment variable. */
export interface ProxyIdentityFlags {
  /** "sidecar" (default) or "router" — pilot-agent's `proxy sidecar|router`. */
  type?: string;
  podName?: string;
  namespace?: string;
  ip?: string;
  serviceAccount?: string;
  /** `key=value` each; merged over ISTIO_METAJSON_LABELS, a flag winning per key. */
  labels?: readonly string[];
  /** `key=value` each, as ISTIO_META_<key>=<value> would give. */
  meta?: readonly string[];
  /** Where the app listens for inbound traffic in the local runtime (metadata CREMA_APP_ADDRESS). */
  appAddress?: string;
  /** Marks the node as a local-runtime proxy (metadata CREMA_LOCAL_RUNTIME "true"). */
  localRuntime?: boolean;
}

export interface ProxyNodeInput {
  flags?: ProxyIdentityFlags;
  env?: Env;
  /** crema's version: ISTIO_VERSION (unless ISTIO_META_ISTIO_VERSION says otherwise) and user_agent_version. */
  version?: string;
}

export interface ProxyNodeIdentity {
  /** Envoy's Node as proto3 JSON, ready for the xDS client. */
  node: JsonObject;
  id: string;
  type: ProxyType;
  ip: string;
  podName: string;
  namespace: string;
  serviceAccount: string;
  labels: Readonly<Record<string, string>>;
  workloadName: string;
}

const META_PREFIX = "ISTIO_META_";
const METAJSON_PREFIX = "ISTIO_METAJSON_";
const DEFAULT_CLUSTER_ID = "Kubernetes";
/** The injector sets ISTIO_META_MESH_ID to the mesh ID, else the trust domain (default cluster.local). */
const DEFAULT_MESH_ID = "cluster.local";
/** Istio's label that overrides the workload name derived from the pod. */
const WORKLOAD_NAME_LABEL = "service.istio.io/workload-name";
/** The ReplicaSet's hash label: pilot-agent leaves it out of LABELS (it changes every rollout). */
const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";
/**
 * crema is not Envoy: an xDS server that gates Envoy-only features on user_agent_name must not
 * believe it talks to one. Istio keys its behaviour on the node id and metadata, not on this.
 */
export const USER_AGENT_NAME = "crema";

/**
 * Kubernetes' "safe" alphabet (no vowels, no 0/1/3) used for ReplicaSet pod-template hashes and
 * for generateName's 5-character suffix: `reviews-v1-7c9f4d6b8d-x2kqz` is Deployment `reviews-v1`.
 */
const DEPLOYMENT_POD =
  /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/;

function invalid(message: string): CremaError {
  return new CremaError("CREMA_PROXY_INVALID_FLAG", message);
}

/** The flag if given, else the environment variable, trimmed; blank counts as unset. */
function pick(flag: string | undefined, env: Env, name: string): string | undefined {
  for (const value of [flag, env[name]]) {
    if (value !== undefined && value.trim() !== "") return value.trim();
  }
  return undefined;
}

/** Splits one `key=value`; `what` names the flag in the error. */
export function parseKeyValue(text: string, what: string): [string, string] {
  const eq = text.indexOf("=");
  const key = eq < 0 ? "" : text.slice(0, eq).trim();
  if (key === "") throw invalid(`${what}: '${text}' is not key=value`);
  return [key, text.slice(eq + 1).trim()];
}

function checkLabel(key: string, value: string, what: string): void {
  const problem = labelKeyProblem(key) ?? labelValueProblem(value);
  if (problem) throw invalid(`${what}: ${problem}`);
}

function parseJsonEnv(name: string, text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw invalid(`${name} is not JSON: ${error instanceof Error ? error.message : error}`);
  }
}

function labelsFromJson(name: string, value: Json): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(`${name} must be a JSON object of label key to string value`);
  }
  const labels: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (typeof raw !== "string")
      throw invalid(`${name}: label ${JSON.stringify(key)} is not a string`);
    checkLabel(key, raw, name);
    labels[key] = raw;
  }
  return labels;
}

/** ISTIO_META_<KEY> → KEY (string), ISTIO_METAJSON_<KEY> → KEY (JSON); LABELS is returned apart. */
function metadataFromEnv(env: Env): { metadata: JsonObject; labels: Record<string, string> } {
  const metadata: JsonObject = {};
  let labels: Record<string, string> = {};
  // Istio merges every ISTIO_METAJSON_* object into the top level of the metadata; crema keeps
  // each under its own key, which is what the one that matters, LABELS, means.
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => compareStrings(a, b))) {
    if (value === undefined) continue;
    if (name.startsWith(META_PREFIX) && name.length > META_PREFIX.length) {
      metadata[name.slice(META_PREFIX.length)] = value;
    } else if (name.startsWith(METAJSON_PREFIX) && name.length > METAJSON_PREFIX.length) {
      const key = name.slice(METAJSON_PREFIX.length);
      const parsed = parseJsonEnv(name, value);
      if (key === "LABELS") labels = labelsFromJson(name, parsed);
      else metadata[key] = parsed;
    }
  }
  return { metadata, labels };
}

function parseType(text: string | undefined): ProxyType {
  const type = text?.trim() || "sidecar";
  if (type !== "sidecar" && type !== "router") {
    throw invalid(`--type must be sidecar or router, got '${text}'`);
  }
  return type;
}

function required(value: string | undefined, flag: string, envName: string): string {
  if (value === undefined) throw invalid(`${flag} (or ${envName}) is required`);
  return value;
}

/**
 * The workload (Deployment, …) a pod belongs to, as the injector tells pilot-agent through
 * ISTIO_META_WORKLOAD_NAME: the `service.istio.io/workload-name` label, else the pod name less
 * the ReplicaSet hash and pod suffix, else the pod name (StatefulSet, DaemonSet and Job pods
 * need ISTIO_META_WORKLOAD_NAME, since their names alone do not say which part is generated).
 */
export function deriveWorkloadName(
  podName: string,
  labels: Readonly<Record<string, string>>,
): string {
  const explicit = labels[WORKLOAD_NAME_LABEL];
  if (explicit) return explicit;
  const hash = labels[POD_TEMPLATE_HASH_LABEL];
  if (hash) {
    const withHash = podName.match(/^(.+)-([^-]+)-[^-]+$/);
    if (withHash?.[2] === hash) return withHash[1]!;
  }
  return podName.match(DEPLOYMENT_POD)?.[1] ?? podName;
}

/** `istio-locality` ("region.zone.subzone") wins over the Kubernetes topology labels. */
function localityFromLabels(labels: Readonly<Record<string, string>>): JsonObject {
  const explicit = labels["istio-locality"];
  const [region = "", zone = "", subZone = ""] = explicit
    ? explicit.split(".")
    : [
        labels["topology.kubernetes.io/region"],
        labels["topology.kubernetes.io/zone"],
        labels["topology.istio.io/subzone"],
      ];
  // Always an object, even empty: grpc-js-xds requires `locality` and Envoy accepts `{}`.
  const locality: JsonObject = {};
  if (region) locality.region = region;
  if (zone) locality.zone = zone;
  if (subZone) locality.sub_zone = subZone;
  return locality;
}

function stringMeta(metadata: JsonObject, key: string): string | undefined {
  const value = metadata[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * Builds the node pilot-agent would: id `type~ip~pod.namespace~namespace.svc.cluster.local`,
 * cluster `<app label or workload>.<namespace>` (Istio's default APP_LABEL_AND_NAMESPACE),
 * metadata NAME, NAMESPACE, INSTANCE_IPS, LABELS, SERVICE_ACCOUNT, CLUSTER_ID, MESH_ID,
 * WORKLOAD_NAME, ISTIO_VERSION over the ISTIO_META_* passthrough, and locality from labels.
 * Throws CREMA_PROXY_INVALID_FLAG naming the flag or variable at fault.
 */
export function buildProxyNode(input: ProxyNodeInput): ProxyNodeIdentity {
  const flags = input.flags ?? {};
  const env = input.env ?? {};
  const type = parseType(flags.type);
  const podName = required(pick(flags.podName, env, "POD_NAME"), "--pod-name", "POD_NAME");
  const namespace = required(
    pick(flags.namespace, env, "POD_NAMESPACE"),
    "--namespace",
    "POD_NAMESPACE",
  );
  const ip = required(pick(flags.ip, env, "INSTANCE_IP"), "--ip", "INSTANCE_IP");
  const serviceAccount = pick(flags.serviceAccount, env, "SERVICE_ACCOUNT") ?? "default";

  // The node id is split on "~" and the pod id on its last ".", so these must be DNS names.
  if (!isDns1123Subdomain(podName)) {
    throw invalid(`pod name '${podName}' must be a lowercase DNS name (a-z, 0-9, '-', '.')`);
  }
  if (!isDns1123Label(namespace)) {
    throw invalid(`namespace '${namespace}' must be a lowercase DNS label (a-z, 0-9, '-')`);
  }
  if (isIP(ip) === 0) throw invalid(`pod IP '${ip}' is not an IP address`);
  if (!isDns1123Subdomain(serviceAccount)) {
    throw invalid(`service account '${serviceAccount}' must be a lowercase DNS name`);
  }
  const appAddress = flags.appAddress?.trim();
  if (appAddress !== undefined && isIP(appAddress) === 0) {
    throw invalid(`--app-address '${flags.appAddress}' is not an IP address`);
  }

  const fromEnv = metadataFromEnv(env);
  const labels: Record<string, string> = { ...fromEnv.labels };
  for (const text of flags.labels ?? []) {
    const [key, value] = parseKeyValue(text, "--label");
    checkLabel(key, value, "--label");
    labels[key] = value;
  }
  const passthrough: JsonObject = { ...fromEnv.metadata };
  for (const text of flags.meta ?? []) {
    const [key, value] = parseKeyValue(text, "--meta");
    passthrough[key] = value;
  }

  const workloadName =
    stringMeta(passthrough, "WORKLOAD_NAME") ?? deriveWorkloadName(podName, labels);
  const { [POD_TEMPLATE_HASH_LABEL]: _hash, ...nodeLabels } = labels;
  const version = stringMeta(passthrough, "ISTIO_VERSION") ?? input.version;
  const id = `${type}~${ip}~${podName}.${namespace}~${namespace}.svc.cluster.local`;
  const metadata: JsonObject = {
    ...passthrough,
    NAME: podName,
    NAMESPACE: namespace,
    INSTANCE_IPS: ip,
    LABELS: nodeLabels,
    SERVICE_ACCOUNT: serviceAccount,
    CLUSTER_ID: stringMeta(passthrough, "CLUSTER_ID") ?? DEFAULT_CLUSTER_ID,
    MESH_ID: stringMeta(passthrough, "MESH_ID") ?? DEFAULT_MESH_ID,
    WORKLOAD_NAME: workloadName,
    ...(version ? { ISTIO_VERSION: version } : {}),
    ...(appAddress ? { CREMA_APP_ADDRESS: appAddress } : {}),
    ...(flags.localRuntime ? { CREMA_LOCAL_RUNTIME: "true" } : {}),
  };
  const node: JsonObject = {
    id,
    cluster: `${labels.app || workloadName}.${namespace}`,
    user_agent_name: USER_AGENT_NAME,
    ...(input.version ? { user_agent_version: input.version } : {}),
    metadata,
    locality: localityFromLabels(labels),
  };
  return {
    node,
    id,
    type,
    ip,
    podName,
    namespace,
    serviceAccount,
    labels: nodeLabels,
    workloadName,
  };
}
