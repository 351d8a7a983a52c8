// The local runtime (DESIGN §3): a whole mesh on one machine from Kubernetes manifests plus
// Istio resources. It validates the manifests, starts the control plane in-process, runs every
// Deployment replica as a pod (processes on their own loopback address, a sidecar where
// injection applies), keeps the registry's Pod objects in step with readiness, publishes the
// ingress gateway on the host, and writes its state directory so later commands find it.

import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Registry } from "prom-client";
import { compareStrings } from "../base/compare.ts";
import { CremaError } from "../base/errors.ts";
import type { Logger } from "../base/logger.ts";
import type { Diagnostic } from "../config/diagnostic.ts";
import { renderDiagnostics } from "../config/format-diagnostics.ts";
import { readSources } from "../config/source-file.ts";
import { validateSources } from "../config/validate.ts";
import { configApiHandlers } from "../control-plane/config-api.ts";
import type { ValidatedSources } from "../control-plane/config-store.ts";
import { type ControlPlane, startControlPlane } from "../control-plane/control-plane.ts";
import { type DebugServer, startDebugServer } from "../control-plane/debug-server.ts";
import type { MeshConfig } from "../control-plane/model/mesh-config.ts";
import { translateProxy } from "../control-plane/translate/translate-proxy.ts";
import {
  builtInGatewaySource,
  builtInGatewayYaml,
  ingressGatewayPorts,
  missingGateways,
} from "./built-in-gateways.ts";
import { cremaCommand } from "./crema-command.ts";
import { type HostPort, publishHostPort } from "./host-port.ts";
import { type LocalPod, startLocalPod } from "./local-pod.ts";
import { type NodeForwarder, startNodeForwarder } from "./node-forwarder.ts";
import { createPodIpAllocator, DEFAULT_POD_CIDR } from "./pod-ips.ts";
import { type PodPlan, planPods } from "./pod-plan.ts";
import { RUNTIME_FILE, type RuntimeState, refuseRunningMesh } from "./runtime-state.ts";
import { resolveServiceEndpoints } from "./service-resolver.ts";

/** Pods that are not ready are probed on every tick, ready ones every 500 ms. */
const PROBE_INTERVAL_MS = 250;
const READY_PROBE_EVERY_TICKS = 2;
/** A pod that is not ready is also probed this soon after a container writes a line. */
const OUTPUT_PROBE_DELAY_MS = 10;
const STOP_GRACE_MS = 5_000;
/** How long pod changes gather before they go to the control plane together. */
const PUBLISH_BATCH_MS = 10;
const HTTP_GATEWAY_PORT = 80;
const HTTPS_GATEWAY_PORT = 443;
/** Kinds whose change can change the set of pods. */
const POD_SHAPING_KINDS = new Set(["Deployment", "Namespace"]);

/** How often pods' bootstrap tokens are rewritten (they last an hour; the agent reads the file). */
const TOKEN_REFRESH_MS = 20 * 60_000;

export interface RuntimeOptions {
  paths: readonly string[];
  /** Read folders inside the folders named (default: only their files, as kubectl). */
  recursive?: boolean;
  stateDir: string;
  podCidr?: string;
  /** Host port for the ingress gateway's port 80 (0 picks a free one). */
  ingressPort?: number;
  /** Host port for its port 443. */
  ingressTlsPort?: number;
  /** Run the CA and give every proxy a workload certificate (Istio mTLS); default true. */
  workloadCertificates?: boolean;
  /** MeshConfig settings for the control plane (`--mesh-config`: providers, access logs …). */
  meshConfig?: Partial<MeshConfig>;
  logger: Logger;
  /** Each line a container writes. */
  onLine?: (pod: string, container: string, line: string) => void;
  /** A pod started, stopped, restarted or changed readiness. */
  onPodChange?: () => void;
}

export interface Runtime {
  state: RuntimeState;
  controlPlane: ControlPlane;
  pods(): LocalPod[];
  close(): Promise<void>;
}

/** `<state>/bin`: `crema` and `node` as the runtime itself runs them, for pods and `crema exec`. */
function writeBinDir(stateDir: string, command: readonly string[]): string {
  const binDir = join(stateDir, "bin");
  mkdirSync(binDir, { recursive: true });
  const [node, entry] = command;
  const shim = join(binDir, "crema");
  writeFileSync(shim, `#!/bin/sh\nexec '${node}' '${entry}' "$@"\n`);
  chmodSync(shim, 0o755);
  rmSync(join(binDir, "node"), { force: true });
  symlinkSync(node!, join(binDir, "node"));
  return binDir;
}

const hasErrors = (diagnostics: readonly Diagnostic[]) =>
  diagnostics.some((d) => d.severity === "error");

/**
 * Reads and validates the manifests; throws CREMA_RUNTIME_INVALID_CONFIG with every finding.
 * The control plane starts from what was read here; it reads the files itself on reload.
 */
async function loadManifests(
  paths: readonly string[],
  recursive: boolean,
): Promise<ValidatedSources> {
  const read = await readSources(paths, async () => "", { recursive });
  const validated = validateSources(read.files);
  const planned = planPods(validated.resources);
  const diagnostics = [...read.diagnostics, ...validated.diagnostics, ...planned.diagnostics];
  if (hasErrors(diagnostics)) {
    const texts = new Map(read.files.map((f) => [f.path, f.text]));
    throw new CremaError(
      "CREMA_RUNTIME_INVALID_CONFIG",
      `the mesh was not started:\n${renderDiagnostics(diagnostics, "text", texts)}`,
    );
  }
  return {
    files: read.files,
    resources: validated.resources,
    diagnostics: [...read.diagnostics, ...validated.diagnostics],
  };
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { logger } = options;
  const stateDir = resolve(options.stateDir);
  refuseRunningMesh(stateDir, options.stateDir);
  const paths = options.paths.map((p) => resolve(p));
  const manifests = await loadManifests(paths, options.recursive === true);
  const { resources } = manifests;
  mkdirSync(stateDir, { recursive: true });
  // Bundled while the control plane starts; the pods need it.
  const commandReady = cremaCommand(stateDir, logger);
  const logDir = join(stateDir, "logs");
  const addresses = createPodIpAllocator(options.podCidr ?? DEFAULT_POD_CIDR);
  const gatewayPorts = ingressGatewayPorts([
    ...resources,
    ...missingGateways(resources).flatMap(
      (role) =>
        validateSources([{ path: builtInGatewaySource(role), text: builtInGatewayYaml(role) }])
          .resources,
    ),
  ]);

  const workloadCertificates = options.workloadCertificates ?? true;
  const controlPlane = await startControlPlane({
    configPaths: manifests.files.map((file) => file.path),
    initialConfig: manifests,
    xdsAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    ...(workloadCertificates
      ? { ca: { dir: join(stateDir, "ca") }, secureXdsAddress: "127.0.0.1:0" }
      : {}),
    meshConfig: {
      // Istio's demo profile traces every request (its default is 1 %); a mesh config says otherwise.
      tracingSamplingPercent: 100,
      ...options.meshConfig,
      ingressGatewayPorts: gatewayPorts,
      workloadCertificates,
    },
    watch: false,
    // `crema apply` is refused what `crema up` would be: a manifest the runtime cannot run.
    admit: (resources) => planPods(resources).diagnostics,
    translate: translateProxy,
    logger,
  });
  /** Adds the built-in gateways the configuration needs and does not deploy itself. */
  const addMissingGateways = () => {
    for (const role of missingGateways(controlPlane.store.current().resources)) {
      controlPlane.store.apply(builtInGatewayYaml(role), builtInGatewaySource(role));
      logger.info({ gateway: role }, "added the built-in gateway");
    }
  };
  addMissingGateways();
  const command = await commandReady;
  const binDir = writeBinDir(stateDir, command);

  const forwarder: NodeForwarder = startNodeForwarder({
    resolve: (namespace, host, port) =>
      resolveServiceEndpoints(controlPlane.snapshot(), namespace, host, port),
    logger,
  });
  const pods = new Map<string, LocalPod>();
  const podKey = (plan: PodPlan) => `${plan.namespace}/${plan.name}`;
  // Pods reach the control plane a batch at a time: they start, and become ready, several at
  // once, and every apply validates its text and rebuilds the mesh's snapshot. Publishing one by
  // one kept the runtime from starting the next pods while the first ones already ran.
  const unpublished = new Set<LocalPod>();
  let publishTimer: NodeJS.Timeout | undefined;
  const publishPods = () => {
    publishTimer = undefined;
    const batch = [...unpublished].filter((pod) => pods.get(podKey(pod.plan)) === pod);
    unpublished.clear();
    if (batch.length === 0) return;
    const names = batch.map((pod) => podKey(pod.plan));
    // As data, not text: the runtime wrote these Pods, so there is no YAML to parse (only a JSON
    // round trip to the plain values a parser would give).
    const outcome = controlPlane.store.applyValues(
      batch.map((pod) => JSON.parse(JSON.stringify(pod.podResource())) as unknown),
      `<pods ${names.join(", ")}>`,
    );
    if (!outcome.accepted)
      logger.error({ pods: names, report: outcome.report }, "pod status rejected");
  };
  const publishPod = (pod: LocalPod) => {
    unpublished.add(pod);
    publishTimer ??= setTimeout(publishPods, PUBLISH_BATCH_MS);
  };
  const probing = new Set<LocalPod>();
  const probePod = async (pod: LocalPod) => {
    if (probing.has(pod)) return;
    probing.add(pod);
    try {
      const before = pod.ready();
      if ((await pod.probe()) !== before && pods.get(podKey(pod.plan)) === pod) publishPod(pod);
    } finally {
      probing.delete(pod);
    }
  };
  // Containers say when they become ready ("proxy ready", an app's "listening on"): probing just
  // after a line reports a starting pod ready within milliseconds, where waiting for the next
  // tick would take up to a tick, and lets the ticks be slow enough to cost little.
  const outputProbes = new Map<string, NodeJS.Timeout>();
  const probeAfterOutput = (plan: PodPlan) => {
    const key = podKey(plan);
    const pod = pods.get(key);
    if (!pod || pod.ready() || outputProbes.has(key)) return;
    const timer = setTimeout(() => {
      outputProbes.delete(key);
      void probePod(pod);
    }, OUTPUT_PROBE_DELAY_MS);
    outputProbes.set(key, timer);
  };
  const pidFile = join(stateDir, "pids.json");
  // Written as soon as a process starts or stops, for `crema down` after a crash; pod changes
  // that leave the processes as they were (readiness) write nothing.
  let writtenPids = "";
  const writePids = () => {
    const pids = JSON.stringify(
      [...pods.values()].flatMap((p) =>
        p.status().containers.flatMap((c) => (c.pid ? [c.pid] : [])),
      ),
    );
    if (pids === writtenPids) return;
    writeFileSync(pidFile, pids);
    writtenPids = pids;
  };

  const tokenDir = join(stateDir, "tokens");
  const rootCertFile = join(stateDir, "ca", "mesh-root-cert.pem");
  const certificatesFor = async (plan: PodPlan) => {
    if (!workloadCertificates || !plan.sidecar || !controlPlane.secureXdsAddress) return undefined;
    const tokenFile = join(tokenDir, `${plan.namespace}.${plan.name}.jwt`);
    await writeToken(tokenFile, plan);
    return { caAddress: controlPlane.secureXdsAddress, rootCertFile, tokenFile };
  };
  const writeToken = async (file: string, plan: PodPlan) => {
    const token = await controlPlane.issueBootstrapToken(plan.namespace, plan.serviceAccount);
    writeFileSync(file, token, { mode: 0o600 });
  };
  if (workloadCertificates) {
    mkdirSync(tokenDir, { recursive: true });
    writeFileSync(rootCertFile, controlPlane.caRootPem() ?? "");
  }

  const startPod = async (plan: PodPlan) => {
    const certificates = await certificatesFor(plan);
    const pod = startLocalPod({
      ...(certificates ? { certificates } : {}),
      plan,
      addresses: addresses.allocate(),
      // With certificates, sidecars speak xDS over TLS on the CA's port, as Istio's do on 15012.
      xdsAddress: certificates?.caAddress ?? controlPlane.xdsAddress,
      cremaCommand: command,
      binDir,
      logDir,
      baseEnv: process.env,
      onLine: (container, line) => {
        options.onLine?.(plan.name, container, line);
        probeAfterOutput(plan);
      },
      onChange: () => {
        writePids();
        options.onPodChange?.();
        // A container that stopped makes the pod unready at once (LocalPod.ready): the registry
        // hears of it now, not at the next probe.
        const started = pods.get(podKey(plan));
        if (started) publishPod(started);
      },
    });
    pods.set(podKey(plan), pod);
    if (!plan.sidecar) {
      forwarder
        .listen(pod.addresses.podIP, plan.namespace)
        .catch((error: unknown) =>
          logger.error({ err: error, pod: plan.name }, "node forwarder cannot listen for the pod"),
        );
    }
    publishPod(pod);
    logger.info(
      { pod: plan.name, namespace: plan.namespace, ip: pod.addresses.podIP },
      "pod started",
    );
  };

  const stopPod = async (key: string, pod: LocalPod) => {
    pods.delete(key);
    controlPlane.store.delete(JSON.stringify(pod.podResource()), `<pod ${key}>`);
    if (!pod.plan.sidecar) await forwarder.unlisten(pod.addresses.podIP);
    await pod.stop(STOP_GRACE_MS);
    addresses.release(pod.addresses.podIP);
    writePids();
    options.onPodChange?.();
    logger.info({ pod: pod.plan.name, namespace: pod.plan.namespace }, "pod stopped");
  };

  /** Starts the pods the Deployments ask for and stops those they no longer ask for. */
  const reconcile = async () => {
    const planned = planPods(controlPlane.store.current().resources);
    for (const diagnostic of planned.diagnostics) logger.error({ diagnostic }, diagnostic.message);
    const wanted = new Map(planned.pods.map((p) => [podKey(p), p]));
    const stops = [...pods]
      .filter(([key]) => !wanted.has(key))
      .map(([key, pod]) => stopPod(key, pod));
    await Promise.all(
      [...wanted].filter(([key]) => !pods.has(key)).map(([, plan]) => startPod(plan)),
    );
    await Promise.all(stops);
  };
  await reconcile();
  let reconciling = Promise.resolve();
  /** Reconciles asked for and not finished: the pods they start are not in `pods` yet. */
  let reconcilesPending = 0;
  const offChange = controlPlane.store.onChange((_state, changed) => {
    if (changed.some((key) => key.startsWith("Gateway/"))) addMissingGateways();
    if (changed.some((key) => POD_SHAPING_KINDS.has(key.split("/")[0]!))) {
      reconcilesPending++;
      reconciling = reconciling
        .then(reconcile)
        .catch((error: unknown) => logger.error({ err: error }, "reconciling pods failed"))
        .finally(() => reconcilesPending--);
    }
  });

  // Bootstrap tokens are short-lived; the agents read theirs again before every CSR.
  const tokenTimer = setInterval(() => {
    if (!workloadCertificates) return;
    for (const pod of pods.values()) {
      if (!pod.plan.sidecar) continue;
      const file = join(tokenDir, `${pod.plan.namespace}.${pod.plan.name}.jwt`);
      writeToken(file, pod.plan).catch((error: unknown) =>
        logger.warn({ err: error, pod: pod.plan.name }, "cannot refresh the pod's bootstrap token"),
      );
    }
  }, TOKEN_REFRESH_MS);
  tokenTimer.unref();

  let tick = 0;
  const probeTimer = setInterval(() => {
    const everyPod = tick++ % READY_PROBE_EVERY_TICKS === 0;
    for (const pod of pods.values()) if (everyPod || !pod.ready()) void probePod(pod);
  }, PROBE_INTERVAL_MS);

  const gatewayIp = () =>
    [...pods.values()].find((p) => p.plan.gateway && p.plan.labels.istio === "ingressgateway")
      ?.addresses.podIP;
  const hostPorts: HostPort[] = [];
  const ingress: RuntimeState["ingress"] = {};
  const closeAll = async () => {
    clearInterval(probeTimer);
    clearTimeout(publishTimer);
    for (const timer of outputProbes.values()) clearTimeout(timer);
    clearInterval(tokenTimer);
    offChange();
    await reconciling;
    await Promise.all([...pods].map(([key, pod]) => stopPod(key, pod)));
    await Promise.all(hostPorts.map((p) => p.close()));
    await forwarder.close();
    await controlPlane.close();
  };

  let api: DebugServer;
  try {
    const publish = [
      {
        gatewayPort: HTTP_GATEWAY_PORT,
        hostPort: options.ingressPort ?? 8080,
        flag: "--ingress-port",
        scheme: "http",
      },
      {
        gatewayPort: HTTPS_GATEWAY_PORT,
        hostPort: options.ingressTlsPort ?? 8443,
        flag: "--ingress-tls-port",
        scheme: "https",
      },
    ] as const;
    for (const p of publish) {
      const target = gatewayPorts[p.gatewayPort];
      if (target === undefined) continue;
      const hostPort = await publishHostPort({
        host: "127.0.0.1",
        port: p.hostPort,
        target: () => ({ host: gatewayIp() ?? "127.0.0.1", port: target }),
        flag: p.flag,
        logger,
      });
      hostPorts.push(hostPort);
      ingress[p.scheme] = `${p.scheme}://localhost:${hostPort.port}`;
    }
    api = await startDebugServer({
      address: "127.0.0.1:0",
      handlers: [
        {
          path: "/pods",
          description:
            "Every pod of the local mesh: addresses, labels, sidecar, readiness, restarts, containers.",
          handle: () =>
            [...pods.values()]
              .map((p) => p.status())
              .sort((a, b) =>
                compareStrings(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`),
              ),
        },
        ...configApiHandlers(controlPlane.store),
      ],
      metrics: new Registry(),
      // Ready: every pod the configuration asks for is, and the proxies have the configuration
      // that says so.
      ready: () =>
        reconcilesPending === 0 &&
        [...pods.values()].every((p) => p.ready()) &&
        !publishTimer &&
        controlPlane.converged(),
      logger,
    });
  } catch (error) {
    await closeAll();
    throw error;
  }

  const state: RuntimeState = {
    pid: process.pid,
    apiUrl: api.url,
    controlPlaneUrl: controlPlane.httpUrl,
    xdsAddress: controlPlane.xdsAddress,
    ingress,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(join(stateDir, RUNTIME_FILE), `${JSON.stringify(state, null, 2)}\n`);
  logger.info({ api: api.url, controlPlane: controlPlane.httpUrl, ingress }, "local mesh started");

  return {
    state,
    controlPlane,
    pods: () => [...pods.values()],
    async close() {
      await closeAll();
      await api.close();
      rmSync(join(stateDir, RUNTIME_FILE), { force: true });
      rmSync(pidFile, { force: true });
    },
  };
}
