// What a running local mesh leaves in its state directory (default `./.crema`) so that later
// commands find it: `runtime.json` names the runtime's process and API; the API lists the pods.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CremaError } from "../base/errors.ts";

export const DEFAULT_STATE_DIR = ".crema";
export const RUNTIME_FILE = "runtime.json";

export interface RuntimeState {
  /** The `crema up` process that owns every pod. */
  pid: number;
  /** The runtime's HTTP API (pods, apply, delete). */
  apiUrl: string;
  /** The in-process control plane: debug endpoints (`/debug/syncz` …) and metrics. */
  controlPlaneUrl: string;
  xdsAddress: string;
  /** Host URLs of the ingress gateway: `http://localhost:8080`, `https://localhost:8443`. */
  ingress: { http?: string; https?: string };
  startedAt: string;
}

export type ContainerKind = "app" | "proxy";

export interface ContainerStatus {
  name: string;
  kind: ContainerKind;
  pid?: number;
  running: boolean;
  restarts: number;
  logFile: string;
  /** Why the last run ended, or why it cannot start. */
  lastExit?: string;
}

export interface PodStatus {
  name: string;
  namespace: string;
  /** The Deployment the pod belongs to. */
  deployment: string;
  labels: Record<string, string>;
  serviceAccount: string;
  /** The pod's loopback address: its sidecar (or, without one, its app) listens here. */
  podIP: string;
  /** Where an injected pod's app listens (the sidecar forwards inbound traffic to it). */
  appIP: string;
  /** Container ports of the app. */
  ports: number[];
  sidecar: boolean;
  /** A gateway pod (the proxy is the pod). */
  gateway: boolean;
  ready: boolean;
  restarts: number;
  /** The proxy's admin server, for pods that run one. */
  adminUrl?: string;
  /** The environment `crema exec` gives a command run "inside" the pod. */
  env: Record<string, string>;
  containers: ContainerStatus[];
}

export function runtimeFile(stateDir: string): string {
  return join(stateDir, RUNTIME_FILE);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The running mesh of `stateDir`; throws CREMA_RUNTIME_NOT_RUNNING when there is none. */
export function readRuntimeState(stateDir: string): RuntimeState {
  let state: RuntimeState;
  try {
    state = JSON.parse(readFileSync(runtimeFile(stateDir), "utf8")) as RuntimeState;
  } catch {
    throw new CremaError(
      "CREMA_RUNTIME_NOT_RUNNING",
      `no local mesh is running in '${stateDir}': start one with 'crema up PATH --detach'`,
    );
  }
  if (!processAlive(state.pid)) {
    throw new CremaError(
      "CREMA_RUNTIME_NOT_RUNNING",
      `the local mesh in '${stateDir}' (process ${state.pid}) is no longer running: start it again with 'crema up'`,
    );
  }
  return state;
}

/** Whether a running mesh owns `stateDir`. */
export function runtimeRunning(stateDir: string): boolean {
  try {
    readRuntimeState(stateDir);
    return true;
  } catch {
    return false;
  }
}

async function runtimeRequest(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    throw new CremaError(
      "CREMA_RUNTIME_REQUEST_FAILED",
      `cannot reach the local mesh at ${url}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Every pod of the running mesh, sorted by namespace and name. */
export async function fetchPods(state: RuntimeState): Promise<PodStatus[]> {
  const response = await runtimeRequest(`${state.apiUrl}/pods`);
  if (!response.ok) {
    throw new CremaError(
      "CREMA_RUNTIME_REQUEST_FAILED",
      `the local mesh answered ${response.status} to GET /pods`,
    );
  }
  return (await response.json()) as PodStatus[];
}

export interface ConfigChangeResult {
  accepted: boolean;
  changed: string[];
  /** Every finding, as `crema validate` prints them. */
  report: string;
}

/** Sends YAML/JSON to the running mesh: `apply` adds or replaces, `delete` removes. */
export async function changeConfig(
  state: RuntimeState,
  verb: "apply" | "delete",
  text: string,
  source: string,
): Promise<ConfigChangeResult> {
  const response = await runtimeRequest(
    `${state.apiUrl}/config/${verb}?source=${encodeURIComponent(source)}`,
    { method: "POST", body: text, headers: { "content-type": "application/yaml" } },
  );
  if (response.status !== 200 && response.status !== 422) {
    throw new CremaError(
      "CREMA_RUNTIME_REQUEST_FAILED",
      `the local mesh answered ${response.status} to ${verb}: ${await response.text()}`,
    );
  }
  return (await response.json()) as ConfigChangeResult;
}

/**
 * The pod a command names: `name` or `name.namespace`, where name is a pod or a Deployment (its
 * first ready pod, else its first pod). Without a namespace, every namespace is searched and a
 * name found in several is an error naming them.
 */
export function findPod(pods: readonly PodStatus[], reference: string): PodStatus {
  const dot = reference.lastIndexOf(".");
  const candidates = [{ name: reference, namespace: undefined as string | undefined }];
  if (dot > 0)
    candidates.unshift({ name: reference.slice(0, dot), namespace: reference.slice(dot + 1) });
  for (const { name, namespace } of candidates) {
    const inScope = pods.filter((p) => namespace === undefined || p.namespace === namespace);
    const exact = inScope.filter((p) => p.name === name);
    const byDeployment = inScope
      .filter((p) => p.deployment === name)
      .sort((a, b) => Number(b.ready) - Number(a.ready));
    const matches = exact.length > 0 ? exact : byDeployment;
    const namespaces = [...new Set(matches.map((p) => p.namespace))];
    if (namespaces.length > 1) {
      throw new CremaError(
        "CREMA_RUNTIME_POD_NOT_FOUND",
        `'${name}' exists in several namespaces (${namespaces.join(", ")}): write it as ${name}.<namespace>`,
      );
    }
    if (matches[0]) return matches[0];
  }
  throw new CremaError(
    "CREMA_RUNTIME_POD_NOT_FOUND",
    `no pod or Deployment '${reference}' in the local mesh; 'crema status' lists them`,
  );
}
