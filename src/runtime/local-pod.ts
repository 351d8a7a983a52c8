// A running pod of the local runtime: its app containers and, when injected, its `crema proxy`
// sidecar (or, for a gateway, the proxy alone), the environment they get (DESIGN §3), readiness
// as the kubelet would judge it, and the Pod object the control plane's registry reads.

import { connect } from "node:net";
import { join } from "node:path";
import { nodeHttp } from "../base/node-http.ts";
import { PROMETHEUS_ANNOTATIONS_ENV } from "../proxy/agent/metrics-merge.ts";
import { type ContainerProcess, startContainerProcess } from "./container-process.ts";
import { nodeCompileCacheDir } from "./crema-command.ts";
import type { PodAddresses } from "./pod-ips.ts";
import type { ContainerPlan, PodPlan } from "./pod-plan.ts";
import { type Readiness, readinessAfterProbe } from "./readiness.ts";
import type { PodStatus } from "./runtime-state.ts";

const { get } = nodeHttp;

export const PROXY_CONTAINER = "istio-proxy";
const PROXY_ADMIN_PORT = 15000;
const PROXY_OUTBOUND_PORT = 15001;
const PROXY_READINESS_PORT = 15021;
/** The agent's status port, where Istio's injector points rewritten app probes. */
const AGENT_STATUS_PORT = 15020;
const PROBE_TIMEOUT_MS = 1_000;

export interface LocalPodOptions {
  plan: PodPlan;
  addresses: PodAddresses;
  /** The control plane's xDS address, for the proxy. */
  xdsAddress: string;
  /** argv prefix that runs the crema CLI (node + bin/crema.js). */
  cremaCommand: readonly string[];
  /** Where the sidecar gets its workload certificate, when the mesh has a CA. */
  certificates?: {
    caAddress: string;
    rootCertFile: string;
    /** The pod's bootstrap token, kept fresh by the runtime (the agent reads it before each CSR). */
    tokenFile: string;
  };
  /** Folder prepended to PATH: `crema` and `node` as the runtime runs them. */
  binDir: string;
  logDir: string;
  /** The runtime's own environment, which pods inherit (minus proxy settings). */
  baseEnv: NodeJS.ProcessEnv;
  onLine?: (container: string, line: string) => void;
  onChange?: () => void;
}

export interface LocalPod {
  readonly plan: PodPlan;
  readonly addresses: PodAddresses;
  /** Checks readiness now (probes) and returns it. */
  probe(): Promise<boolean>;
  ready(): boolean;
  status(): PodStatus;
  /** The Pod resource (JSON) the registry reads: address, labels, readiness. */
  podResource(): Record<string, unknown>;
  stop(graceMs: number): Promise<void>;
}

const PROXY_ENV_KEYS = [
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "NO_PROXY",
  "no_proxy",
  "ALL_PROXY",
  "all_proxy",
];

/** What every container of the pod (and `crema exec` into it) sees, before its own `env`. */
export function podEnvironment(
  plan: PodPlan,
  addresses: PodAddresses,
  binDir: string,
  baseEnv: NodeJS.ProcessEnv,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(baseEnv)) {
    if (value !== undefined && !PROXY_ENV_KEYS.includes(key)) env[key] = value;
  }
  // Both the sidecar and, for a pod without one, the node forwarder listen on podIP:15001.
  const proxy = `http://${addresses.podIP}:${PROXY_OUTBOUND_PORT}`;
  const noProxy = "localhost,127.0.0.1,::1";
  return {
    ...env,
    PATH: `${binDir}:${baseEnv.PATH ?? "/usr/bin:/bin"}`,
    POD_NAME: plan.name,
    POD_NAMESPACE: plan.namespace,
    POD_IP: addresses.podIP,
    INSTANCE_IP: addresses.podIP,
    SERVICE_ACCOUNT: plan.serviceAccount,
    HOST: plan.sidecar ? addresses.appIP : addresses.podIP,
    HTTP_PROXY: proxy,
    http_proxy: proxy,
    HTTPS_PROXY: proxy,
    https_proxy: proxy,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_USE_ENV_PROXY: "1",
    // Node's on-disk cache of compiled (and type-stripped) modules, which crema's own processes
    // use too: a TypeScript app such as the demo's starts in about half the CPU time with it.
    // The user's own setting wins.
    NODE_COMPILE_CACHE: nodeCompileCacheDir(baseEnv),
  };
}

/**
 * The proxy container's environment: the pod's, minus what points the app at the proxy (the
 * proxy must not send its own connections through itself, and Node would load its HTTP-proxy
 * machinery for nothing).
 */
function proxyEnvironment(shared: Record<string, string>, plan: PodPlan): Record<string, string> {
  const env = { ...shared };
  for (const key of [...PROXY_ENV_KEYS, "NODE_USE_ENV_PROXY", "HOST", "PORT"]) delete env[key];
  const probers = appProbers(plan.containers);
  if (Object.keys(probers).length > 0) env.ISTIO_KUBE_APP_PROBERS = JSON.stringify(probers);
  // Istio's metrics merging: the pod's scrape annotations go to the agent, which serves the
  // app's metrics with the proxy's on 15020.
  const annotations = plan.annotations;
  if (annotations["prometheus.io/scrape"] === "true")
    env[PROMETHEUS_ANNOTATIONS_ENV] = JSON.stringify({
      scrape: "true",
      path: annotations["prometheus.io/path"] ?? "/metrics",
      port: annotations["prometheus.io/port"] ?? "",
    });
  return env;
}

const readyzPath = (container: string) => `/app-health/${container}/readyz`;

/**
 * Istio's probe rewrite: each container's httpGet readiness probe, keyed by the path the
 * injector points the kubelet at on the agent's 15020 (ISTIO_KUBE_APP_PROBERS).
 */
function appProbers(containers: readonly ContainerPlan[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of containers) {
    if (!c.readinessProbe) continue;
    out[readyzPath(c.name)] = {
      httpGet: { path: c.readinessProbe.path, port: c.readinessProbe.port, scheme: "HTTP" },
      timeoutSeconds: 1,
    };
  }
  return out;
}

function fieldValue(ref: string, plan: PodPlan, addresses: PodAddresses): string {
  if (ref === "metadata.name") return plan.name;
  if (ref === "metadata.namespace") return plan.namespace;
  if (ref === "status.podIP") return addresses.podIP;
  return plan.serviceAccount;
}

function proxyArgv(options: LocalPodOptions): string[] {
  const { plan, addresses } = options;
  return [
    ...options.cremaCommand,
    "proxy",
    "--xds-address",
    options.xdsAddress,
    "--type",
    plan.gateway ? "router" : "sidecar",
    "--pod-name",
    plan.name,
    "--namespace",
    plan.namespace,
    "--ip",
    addresses.podIP,
    "--service-account",
    plan.serviceAccount,
    "--local-runtime",
    ...(plan.gateway ? [] : ["--app-address", addresses.appIP]),
    "--drain-time",
    "1s",
    "--concurrency",
    String(plan.proxyConcurrency),
    ...(options.certificates
      ? [
          "--ca-address",
          options.certificates.caAddress,
          "--ca-root-cert",
          options.certificates.rootCertFile,
          "--token-file",
          options.certificates.tokenFile,
        ]
      : []),
    ...Object.entries(plan.labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
  ];
}

/**
 * The kubelet's httpGet probe: 2xx or 3xx within the timeout. On node:http without an agent
 * (a fresh connection, as the kubelet's), not fetch: probes run many times a second while a mesh
 * starts, and undici's per-request machinery was most of the runtime's own start-up CPU.
 */
function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: PROBE_TIMEOUT_MS }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    request.once("timeout", () => {
      request.destroy();
      resolve(false);
    });
    request.once("error", () => resolve(false));
  });
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: PROBE_TIMEOUT_MS });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

export function startLocalPod(options: LocalPodOptions): LocalPod {
  const { plan, addresses } = options;
  const shared = podEnvironment(plan, addresses, options.binDir, options.baseEnv);
  const appHost = shared.HOST!;
  const logFile = (container: string) =>
    join(options.logDir, plan.namespace, plan.name, `${container}.log`);
  const containers: Array<{ process: ContainerProcess; probe: () => Promise<boolean> }> = [];
  let readiness: Readiness = { ready: false, failures: 0 };
  /** What `crema exec` runs with: the first app container's environment, as kubectl exec's
   * default container; a gateway's, which has none, is the pod's. */
  let execEnv: Record<string, string> | undefined;

  if (plan.sidecar) {
    const process = startContainerProcess({
      name: PROXY_CONTAINER,
      kind: "proxy",
      argv: proxyArgv(options),
      env: proxyEnvironment(shared, plan),
      cwd: plan.workingDir,
      logFile: logFile(PROXY_CONTAINER),
      onLine: (line) => options.onLine?.(PROXY_CONTAINER, line),
      ...(options.onChange ? { onChange: options.onChange } : {}),
    });
    const url = `http://${addresses.podIP}:${PROXY_READINESS_PORT}/healthz/ready`;
    containers.push({ process, probe: () => httpOk(url) });
  }
  for (const container of plan.containers) {
    const env: Record<string, string> = { ...shared };
    const firstPort = container.ports[0]?.containerPort;
    if (firstPort !== undefined) env.PORT = String(firstPort);
    for (const entry of container.env) {
      env[entry.name] =
        "value" in entry ? entry.value : fieldValue(entry.fieldRef, plan, addresses);
    }
    execEnv ??= env;
    const process = startContainerProcess({
      name: container.name,
      kind: "app",
      argv: container.argv,
      env,
      cwd: plan.workingDir,
      logFile: logFile(container.name),
      onLine: (line) => options.onLine?.(container.name, line),
      ...(options.onChange ? { onChange: options.onChange } : {}),
    });
    // A probe of an injected pod goes through the agent, as Istio's injector rewrites it. Without
    // a readiness probe Kubernetes calls a started container ready; the runtime also waits for
    // its ports to accept connections, so "ready" means a request can be served.
    const probe = container.readinessProbe
      ? plan.sidecar
        ? () =>
            httpOk(`http://${addresses.podIP}:${AGENT_STATUS_PORT}${readyzPath(container.name)}`)
        : () =>
            httpOk(
              `http://${appHost}:${container.readinessProbe!.port}${container.readinessProbe!.path}`,
            )
      : async () => {
          const open = await Promise.all(
            container.ports.map((p) => tcpOpen(appHost, p.containerPort)),
          );
          return open.every(Boolean);
        };
    containers.push({ process, probe });
  }

  // As the kubelet: a container that is not running makes the pod unready at once, whatever
  // the last probe said.
  const ready = () => readiness.ready && containers.every((c) => c.process.status().running);
  const pod: LocalPod = {
    plan,
    addresses,
    async probe() {
      const results = await Promise.all(
        containers.map((c) => (c.process.status().running ? c.probe() : Promise.resolve(false))),
      );
      const exited = containers.some((c) => !c.process.status().running);
      const before = readiness.ready;
      readiness = readinessAfterProbe(readiness, results.every(Boolean), exited);
      if (readiness.ready !== before) options.onChange?.();
      return ready();
    },
    ready,
    status() {
      const statuses = containers.map((c) => c.process.status());
      return {
        name: plan.name,
        namespace: plan.namespace,
        deployment: plan.deployment,
        labels: plan.labels,
        serviceAccount: plan.serviceAccount,
        podIP: addresses.podIP,
        appIP: plan.sidecar && !plan.gateway ? addresses.appIP : addresses.podIP,
        ports: plan.containers.flatMap((c) => c.ports.map((p) => p.containerPort)),
        sidecar: plan.sidecar && !plan.gateway,
        gateway: plan.gateway,
        ready: ready(),
        restarts: statuses.reduce((sum, s) => sum + s.restarts, 0),
        ...(plan.sidecar ? { adminUrl: `http://${addresses.podIP}:${PROXY_ADMIN_PORT}` } : {}),
        env: execEnv ?? shared,
        containers: statuses,
      };
    },
    podResource() {
      const owner = `${plan.deployment}-${plan.templateHash}`;
      return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: plan.name,
          namespace: plan.namespace,
          labels: plan.labels,
          annotations: plan.annotations,
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "ReplicaSet",
              name: owner,
              uid: owner,
              controller: true,
            },
          ],
        },
        spec: {
          serviceAccountName: plan.serviceAccount,
          containers: plan.containers.map((c) => ({
            name: c.name,
            ports: c.ports.map((p) => ({ ...p })),
          })),
        },
        status: {
          phase: "Running",
          podIP: addresses.podIP,
          conditions: [{ type: "Ready", status: ready() ? "True" : "False" }],
        },
      };
    },
    async stop(graceMs) {
      await Promise.all(containers.map((c) => c.process.stop(graceMs)));
    },
  };
  return pod;
}
