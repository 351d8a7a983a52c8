// `crema up PATH…`: a whole mesh on this machine from Kubernetes manifests and Istio resources.
// In the foreground it prints each container's output with its pod's name and every change of
// pod state, until Ctrl-C; `--detach` runs it in the background and returns once every pod is
// ready (or fails with the reason). `crema demo` is `crema up` of the coffee shop.
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { parseDuration } from "../../base/duration.ts";
import { isErrorCode } from "../../base/error-catalogue.ts";
import { CremaError, describeError, isCremaError } from "../../base/errors.ts";
import { createLogger, type Logger } from "../../base/logger.ts";
import { validateMeshAccessLog } from "../../control-plane/model/mesh-access-log.ts";
import type { MeshConfig } from "../../control-plane/model/mesh-config.ts";
import { cremaCommand, nodeCompileCacheDir } from "../../runtime/crema-command.ts";
import { DEFAULT_POD_CIDR } from "../../runtime/pod-ips.ts";
import type { Runtime } from "../../runtime/runtime.ts";
import {
  DEFAULT_STATE_DIR,
  fetchPods,
  MESH_SYNC_POLL_MS,
  meshReady,
  type PodStatus,
  type RuntimeState,
  readRuntimeState,
  refuseRunningMesh,
} from "../../runtime/runtime-state.ts";
import type { CliIo } from "../io.ts";
import type { CommandRegistrar } from "../main.ts";
import { readMeshConfigFile } from "../mesh-config-file.ts";
import { readableLogLine } from "../readable-log-line.ts";
import { shutdownSignals } from "../signals.ts";
import { podTable } from "./status.ts";

interface UpFlags {
  detach?: boolean;
  recursive?: boolean;
  stateDir: string;
  ingressPort: string;
  ingressTlsPort: string;
  podCidr: string;
  timeout: string;
  logLevel?: string;
  meshConfig?: string;
}

const DETACHED_LOG = "runtime.log";
const WAIT_POLL_MS = 100;
/** A container that exited this often while `--detach` waits will not become ready by itself. */
const CRASH_LOOP_RESTARTS = 3;
const LOG_TAIL_LINES = 15;
/** How long a failed `--detach` waits for the mesh to stop before killing it. */
const STOP_WAIT_MS = 30_000;

function port(text: string, flag: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65535) {
    throw new CremaError(
      "CREMA_RUNTIME_PORT_IN_USE",
      `${flag} must be a port from 0 to 65535, got '${text}'`,
    );
  }
  return value;
}

function tail(file: string, lines = LOG_TAIL_LINES): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

/** Why `pod` will not become ready on its own, or undefined while it still may. */
function hopeless(pod: PodStatus): string | undefined {
  for (const container of pod.containers) {
    const gaveUp =
      container.lastExit?.startsWith("cannot start") || container.restarts >= CRASH_LOOP_RESTARTS;
    if (gaveUp) {
      return `pod ${pod.namespace}/${pod.name}: container ${container.name} ${container.lastExit} (${container.restarts} restarts); its last lines:\n${tail(container.logFile)}`;
    }
  }
  return undefined;
}

function summary(state: RuntimeState, pods: readonly PodStatus[]): string {
  const ingress = [state.ingress.http, state.ingress.https].filter(Boolean).join(", ");
  return `${podTable(pods)}\nmesh ready: ${pods.length} pods; ingress gateway at ${ingress || "(none)"}\n`;
}

/** What to print once every pod is ready (the demo's invitation). */
type Banner = (state: RuntimeState) => string;

async function runForeground(
  paths: string[],
  flags: UpFlags,
  io: CliIo,
  meshConfig: Partial<MeshConfig>,
  banner?: Banner,
) {
  const logger = runtimeLogger(flags, io);
  const signals = shutdownSignals(logger);
  let runtime: Runtime | undefined;
  let announced = false;
  const readiness = new Map<string, boolean>();
  const onPodChange = () => {
    if (!runtime) return;
    const pods = runtime.pods().map((p) => p.status());
    for (const pod of pods) {
      if (readiness.get(pod.name) !== pod.ready) {
        readiness.set(pod.name, pod.ready);
        io.stdout(`${pod.namespace}/${pod.name} ${pod.ready ? "ready" : "not ready"}\n`);
      }
    }
    if (!announced && pods.length > 0 && pods.every((p) => p.ready)) {
      announced = true;
      io.stdout(summary(runtime.state, pods));
      if (banner) io.stdout(banner(runtime.state));
    }
  };
  try {
    // Loaded here so that every other command (a proxy starting in each pod) skips the runtime.
    const { startRuntime } = await import("../../runtime/runtime.ts");
    runtime = await startRuntime({
      paths: paths.map((p) => resolve(io.cwd, p)),
      recursive: flags.recursive === true,
      stateDir: resolve(io.cwd, flags.stateDir),
      podCidr: flags.podCidr,
      ingressPort: port(flags.ingressPort, "--ingress-port"),
      ingressTlsPort: port(flags.ingressTlsPort, "--ingress-tls-port"),
      meshConfig,
      logger,
      onLine: (pod, container, line) => io.stdout(`${pod} ${container} | ${line}\n`),
      onPodChange,
    });
    io.stdout(`local mesh started (state in ${flags.stateDir}); Ctrl-C stops it\n`);
    onPodChange();
    if (!signals.shutdown.aborted) {
      await new Promise<void>((done) =>
        signals.shutdown.addEventListener("abort", () => done(), { once: true }),
      );
    }
    io.stdout("stopping the local mesh\n");
    await runtime.close();
  } finally {
    signals.dispose();
  }
}

/** The foreground `crema up` the detached one runs, with every setting spelled out. */
function foregroundArgv(paths: readonly string[], flags: UpFlags, io: CliIo): string[] {
  return [
    "up",
    ...paths.map((p) => resolve(io.cwd, p)),
    "--state-dir",
    resolve(io.cwd, flags.stateDir),
    "--ingress-port",
    flags.ingressPort,
    "--ingress-tls-port",
    flags.ingressTlsPort,
    "--pod-cidr",
    flags.podCidr,
    ...(flags.recursive ? ["--recursive"] : []),
    ...(flags.logLevel ? ["--log-level", flags.logLevel] : []),
    ...(flags.meshConfig ? ["--mesh-config", resolve(io.cwd, flags.meshConfig)] : []),
  ];
}

function runtimeLogger(flags: UpFlags, io: CliIo): Logger {
  return createLogger({
    name: "runtime",
    level: flags.logLevel ?? io.env.CREMA_LOG_LEVEL ?? "warn",
    destination: { write: (line: string) => io.stderr(readableLogLine(line)) },
  });
}

async function runDetached(paths: string[], flags: UpFlags, io: CliIo) {
  const stateDir = resolve(io.cwd, flags.stateDir);
  const timeout = parseDuration(flags.timeout);
  const timeoutMs = timeout.ok ? timeout.ms : 120_000;
  // Before anything else: the runtime would refuse too, but only after this command had
  // truncated the running mesh's log, and while it waited it would find that mesh ready.
  refuseRunningMesh(stateDir, flags.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const logFile = join(stateDir, DETACHED_LOG);
  const out = openSync(logFile, "w");
  // The runtime starts from the CLI bundle, as its sidecars do. The bundle does not go through
  // bin/crema.js, which turns Node's compile cache on: the environment does it here.
  const [node, entry] = await cremaCommand(stateDir, runtimeLogger(flags, io));
  const child = spawn(node!, [entry!, ...foregroundArgv(paths, flags, io)], {
    cwd: io.cwd,
    env: { ...io.env, NODE_COMPILE_CACHE: nodeCompileCacheDir(io.env) },
    detached: true,
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  let exitedWith: string | undefined;
  const childExited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exitedWith = signal ?? String(code);
      resolve();
    }),
  );
  child.unref();
  const deadline = Date.now() + timeoutMs;
  /** Stops the mesh (it is our child: the runtime itself) and waits until it has. */
  const fail = async (message: string): Promise<never> => {
    if (exitedWith === undefined) {
      child.kill("SIGTERM");
      const kill = setTimeout(() => child.kill("SIGKILL"), STOP_WAIT_MS);
      await childExited;
      clearTimeout(kill);
    }
    throw new CremaError(
      "CREMA_RUNTIME_POD_NOT_READY",
      `${message}\nthe mesh was stopped; its output is in ${logFile}`,
    );
  };
  let state: RuntimeState | undefined;
  for (;;) {
    if (exitedWith !== undefined) {
      const text = tail(logFile, 40);
      // The runtime's own refusals (invalid manifests, a taken port) are printed as they are.
      const own = /^crema: (CREMA_\w+): ([\s\S]*)$/m.exec(text);
      if (own && isErrorCode(own[1]!)) throw new CremaError(own[1], own[2]!);
      throw new CremaError(
        "CREMA_RUNTIME_POD_NOT_READY",
        `the local mesh exited before it was ready:\n${text}`,
      );
    }
    if (Date.now() > deadline) {
      const pods = state ? await fetchPods(state) : [];
      const waiting = pods.filter((p) => !p.ready);
      const details = waiting
        .map(
          (p) =>
            `${p.namespace}/${p.name}:\n${p.containers.map((c) => tail(c.logFile, 5)).join("\n")}`,
        )
        .join("\n");
      return fail(`not every pod was ready after ${flags.timeout}:\n${details}`);
    }
    try {
      state ??= readRuntimeState(stateDir);
    } catch {
      await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
      continue;
    }
    const pods = await fetchPods(state);
    const problem = pods.map(hopeless).find((p) => p !== undefined);
    if (problem) return fail(problem);
    const podsReady = pods.length > 0 && pods.every((p) => p.ready);
    if (podsReady && (await meshReady(state))) {
      io.stdout(summary(state, pods));
      io.stdout(`running in the background (process ${state.pid}); 'crema down' stops it\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, podsReady ? MESH_SYNC_POLL_MS : WAIT_POLL_MS));
  }
}

function addUpOptions(command: Command): Command {
  return command
    .option("-d, --detach", "run in the background; return once every pod is ready")
    .option("-R, --recursive", "also read the folders inside the folders named")
    .option(
      "--state-dir <dir>",
      "where pids, logs and the runtime's address are kept",
      DEFAULT_STATE_DIR,
    )
    .option("--ingress-port <port>", "host port for the ingress gateway's port 80", "8080")
    .option("--ingress-tls-port <port>", "host port for the ingress gateway's port 443", "8443")
    .option("--pod-cidr <cidr>", "loopback /16 for pod addresses", DEFAULT_POD_CIDR)
    .option("--timeout <duration>", "with --detach: how long to wait for every pod", "120s")
    .option("--log-level <level>", "runtime and control plane log level on stderr (default warn)")
    .option(
      "--mesh-config <file>",
      "Istio MeshConfig YAML for the mesh's control plane (extensionProviders, defaultProviders, access logs, tracing sampling), as crema control-plane reads it",
    );
}

/** The --mesh-config file's settings, or undefined after printing why it cannot be used. */
async function meshConfigOf(flags: UpFlags, io: CliIo): Promise<Partial<MeshConfig> | undefined> {
  if (!flags.meshConfig) return {};
  const meshConfig = await readMeshConfigFile(resolve(io.cwd, flags.meshConfig), io);
  if (!meshConfig) return undefined;
  const accessLogErrors = validateMeshAccessLog(meshConfig);
  for (const error of accessLogErrors) io.stderr(`crema: ${error}\n`);
  return accessLogErrors.length > 0 ? undefined : meshConfig;
}

async function up(paths: string[], flags: UpFlags, io: CliIo, banner?: Banner) {
  try {
    // Read before a detached mesh starts, so that its problems are printed here.
    const meshConfig = await meshConfigOf(flags, io);
    if (!meshConfig) {
      io.exit(2);
      return;
    }
    if (flags.detach) await runDetached(paths, flags, io);
    else await runForeground(paths, flags, io, meshConfig, banner);
  } catch (error) {
    if (!isCremaError(error)) throw error;
    io.stderr(`crema: ${describeError(error)}\n`);
    io.exit(1);
  }
}

const DEMO_DIR = fileURLToPath(new URL("../../../examples/coffee-shop", import.meta.url));

export const registerUpCommand: CommandRegistrar = (program, io) => {
  addUpOptions(
    program
      .command("up")
      .description("Run a whole mesh on this machine from Kubernetes manifests and Istio resources")
      .argument("<path...>", "YAML files or directories"),
  ).action(async (paths: string[], flags: UpFlags) => {
    await up(paths, flags, io);
  });
  addUpOptions(
    program.command("demo").description("Run the coffee-shop demo (crema up examples/coffee-shop)"),
  ).action(async (flags: UpFlags) => {
    const banner: Banner = (state) => {
      const url = state.ingress.http ?? "http://localhost:8080";
      return [
        "",
        `the coffee shop is open: ${url}/`,
        "try:",
        `  curl -s -H 'Host: coffee.example.com' ${url}/api/orders/42`,
        "  npx crema exec sleep -- curl -s customer-service/",
        "  npx crema apply -f examples/coffee-shop/traffic/weight-70-30.yaml",
        "docs/demo.md walks through the rest; Ctrl-C stops the mesh",
        "",
      ].join("\n");
    };
    await up([DEMO_DIR], flags, io, banner);
  });
};
