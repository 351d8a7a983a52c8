// What a running local mesh leaves in its state directory (default `./.crema`) so that later
// commands find it: `runtime.json` names the runtime's process and API; the API lists the pods.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CremaError } from "../base/errors.ts";
import { nodeHttp } from "../base/node-http.ts";
import { processAlive } from "../base/process-alive.ts";

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

/**
 * Throws CREMA_RUNTIME_ALREADY_RUNNING when a mesh runs in `stateDir`; `shown` is the folder as
 * the user wrote it.
 */
export function refuseRunningMesh(stateDir: string, shown: string): void {
  if (runtimeRunning(stateDir)) {
    throw new CremaError(
      "CREMA_RUNTIME_ALREADY_RUNNING",
      `a local mesh is already running in '${shown}': stop it with 'crema down' or use another --state-dir`,
    );
  }
}

/** What the CLI reads of the runtime's answers. */
interface RuntimeResponse {
  status: number;
  ok: boolean;
  text(): string;
  json(): unknown;
}

/**
 * One request to the runtime's API. On node:http, not fetch: `crema up --detach` asks for the
 * pods ten times a second while the mesh starts, and loading fetch's undici took more CPU than
 * the rest of that command, at the moment every core is busy starting the pods.
 */
function runtimeRequest(
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<RuntimeResponse> {
  const failed = (error: Error) =>
    new CremaError(
      "CREMA_RUNTIME_REQUEST_FAILED",
      `cannot reach the local mesh at ${url}: ${error.message}`,
      { cause: error },
    );
  return new Promise((resolve, reject) => {
    const request = nodeHttp.request(
      url,
      { method: init.method ?? "GET", headers: init.headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.once("error", (error) => reject(failed(error)));
        response.once("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = response.statusCode ?? 0;
          resolve({
            status,
            ok: status >= 200 && status < 300,
            text: () => text,
            json: () => JSON.parse(text),
          });
        });
      },
    );
    request.once("error", (error) => reject(failed(error)));
    request.end(init.body);
  });
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
  return response.json() as PodStatus[];
}

/**
 * How often to ask meshReady while waiting for a push: it and its ACKs take tens of
 * milliseconds, so a waiting command returns close to when they land.
 */
export const MESH_SYNC_POLL_MS = 10;

/**
 * Whether the mesh is ready: every pod is, and every proxy has ACKed the configuration that
 * says so (the control plane pushes a change after 100 ms of quiet, as istiod does).
 */
export async function meshReady(state: RuntimeState): Promise<boolean> {
  return (await runtimeRequest(`${state.apiUrl}/ready`)).ok;
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
      `the local mesh answered ${response.status} to ${verb}: ${response.text()}`,
    );
  }
  return response.json() as ConfigChangeResult;
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
