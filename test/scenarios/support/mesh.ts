// A small mesh for scenario tests: the real `crema control-plane` process watching a config
// directory, real `crema proxy` processes, and real echo servers, all on one loopback subnet that
// the test file owns (127.<subnet>.x.y), so test files run in parallel without colliding.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { silentLogger } from "../../../src/base/logger.ts";
import { type EchoServer, startEchoServer } from "../../../src/echo/index.ts";
import { type ControlPlaneProcess, startControlPlaneProcess } from "./control-plane-process.ts";

/**
 * Subnets in use by scenario test files (one each): keep them unique.
 * 31 proxy-http, 32 proxy-resilience, 33 proxy-protocols, 34 proxy-tcp, 35 proxy-config,
 * 36 proxy-hostile-input, 37 proxy-control-plane-loss, 38 proxy-workers, 39 security-jwt,
 * 41 proxy-telemetry, 45 cli-proxy-config, 47 proxy-agent-status (its unit tests under
 * src/proxy/agent use 127.47.1–2.x), 49 proxy-access-log, 62 proxy-tracing, 64 gateway-tls,
 * 66 tls-origination, 67 security-ext-authz, 68 security-rotation, 71 security-authz (its
 * startMesh part), 73 telemetry-metrics-api. Benchmarks: 40 (bench/proxy.ts), 42
 * (bench/proxy-memory.ts), 43 (runtime start-up). Local-runtime pod networks: 127.50 and 127.52
 * (local-runtime tests), 127.57 (coffee-shop demo), 127.59 (security-mtls), 127.60
 * (observability-prometheus), 127.65 (security-authz), 127.74 (observability-tracing-demo).
 */
export type Subnet = number;

export interface ProxyProcess {
  pod: string;
  ip: string;
  /** The proxy's process id (benchmarks read its CPU time and RSS from /proc). */
  pid: number;
  adminUrl: string;
  logs(): string;
  stop(): Promise<number | null>;
}

export interface EchoPod {
  pod: string;
  ip: string;
  port: number;
  server: EchoServer;
}

export interface Mesh {
  /** The running control plane (replaced by restartControlPlane). */
  readonly controlPlane: ControlPlaneProcess;
  /** Stops the control plane (proxies keep their last config); start() brings it back. */
  stopControlPlane(): Promise<void>;
  /** Starts it again with the same arguments — at the same address when one was fixed. */
  startControlPlane(): Promise<void>;
  /** `127.<subnet>.<host>.<n>`. */
  ip(host: number, n?: number): string;
  /** Writes (or replaces) one config file; the control plane picks it up and pushes. */
  apply(file: string, yaml: string): void;
  remove(file: string): void;
  startEcho(options: {
    pod: string;
    ip: string;
    port?: number;
    version?: string;
    grpcPort?: number;
    tcpPort?: number;
  }): Promise<EchoPod>;
  startProxy(options: {
    pod: string;
    ip: string;
    namespace?: string;
    labels?: Record<string, string>;
    type?: "sidecar" | "router";
    appAddress?: string;
    extraArgs?: string[];
    /** Extra environment (e.g. ISTIO_KUBE_APP_PROBERS), over this process's. */
    env?: Record<string, string>;
  }): Promise<ProxyProcess>;
  stop(): Promise<void>;
}

/** The `default` namespace with sidecar injection on: every scenario's starting point. */
export const INJECTED_NAMESPACE_YAML = `apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
`;

export interface ServicePort {
  name: string;
  port: number;
  targetPort: number;
  appProtocol?: string;
}

/** YAML for a Service in `default` selecting `app: <selector>` (its name unless given). */
export function serviceYaml(
  name: string,
  options: { selector?: string; ports?: ServicePort[] } = {},
): string {
  const ports = (options.ports ?? [{ name: "http", port: 80, targetPort: 8080 }])
    .map(
      (p) =>
        `  - {name: ${p.name}, port: ${p.port}, targetPort: ${p.targetPort}${p.appProtocol ? `, appProtocol: ${p.appProtocol}` : ""}}`,
    )
    .join("\n");
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
  selector: {app: ${options.selector ?? name}}
  ports:
${ports}
`;
}

/** YAML for a DestinationRule in `default` on `host` with one subset per `version` label. */
export function subsetsYaml(host: string, versions: readonly string[] = ["v1", "v2"]): string {
  const subsets = versions.map((v) => `  - {name: ${v}, labels: {version: ${v}}}`).join("\n");
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${host}, namespace: default}
spec:
  host: ${host}
  subsets:
${subsets}
`;
}

/**
 * What an app behind HTTP_PROXY does for a tunnel: `CONNECT authority` to its sidecar's 15001.
 * Resolves with the socket once the sidecar answers 200.
 */
export function connectTunnel(sidecarIp: string, authority: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: sidecarIp,
      port: 15001,
      method: "CONNECT",
      path: authority,
      headers: { host: authority },
    });
    req.once("connect", (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`CONNECT ${authority} answered ${res.statusCode}`));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once("error", reject);
    req.end();
  });
}

/** YAML for a Pod the control plane's registry sees as ready. */
export function podYaml(options: {
  name: string;
  ip: string;
  labels: Record<string, string>;
  ports?: number[];
  namespace?: string;
  /** spec.serviceAccountName (the registry's default is `default`). */
  serviceAccount?: string;
}): string {
  const labels = Object.entries(options.labels)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(", ");
  const ports = (options.ports ?? []).map((p) => `{containerPort: ${p}}`).join(", ");
  return `apiVersion: v1
kind: Pod
metadata: {name: ${options.name}, namespace: ${options.namespace ?? "default"}, labels: {${labels}}}
spec:
${options.serviceAccount ? `  serviceAccountName: ${options.serviceAccount}\n` : ""}  containers: [{name: app, ports: [${ports}]}]
status:
  podIP: ${options.ip}
  conditions: [{type: Ready, status: "True"}]
`;
}

/** A `crema proxy` process against any xDS server (startMesh's proxies use its control plane). */
/**
 * Starts `crema proxy` and resolves once it says it is ready. `spawned` hears of the process at
 * once, so that a proxy that never becomes ready can still be stopped.
 */
export function startProxyProcess(
  xdsAddress: string,
  options: Parameters<Mesh["startProxy"]>[0],
  spawned?: (child: ChildProcess) => void,
): Promise<ProxyProcess> {
  const args = [
    "bin/crema.js",
    "proxy",
    "--xds-address",
    xdsAddress,
    "--type",
    options.type ?? "sidecar",
    "--pod-name",
    options.pod,
    "--namespace",
    options.namespace ?? "default",
    "--ip",
    options.ip,
    "--local-runtime",
    "--drain-time",
    "1s",
    ...Object.entries(options.labels ?? {}).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    ...(options.appAddress ? ["--app-address", options.appAddress] : []),
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CREMA_LOG_LEVEL: "info", ...options.env },
  });
  spawned?.(child);
  let tail = "";
  createInterface({ input: child.stderr! }).on("line", (line) => {
    tail = `${tail}${line}\n`.slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  return new Promise((resolve, reject) => {
    let adminUrl = "";
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const admin = /admin=(\S+)/.exec(line);
      if (line.startsWith("proxy started") && admin) adminUrl = admin[1]!;
      if (line === "proxy ready") {
        resolve({
          pod: options.pod,
          ip: options.ip,
          pid: child.pid ?? 0,
          adminUrl,
          logs: () => tail,
          async stop() {
            if (child.exitCode === null) child.kill("SIGTERM");
            return exited;
          },
        });
      }
    });
    void exited.then((code) =>
      reject(new Error(`proxy ${options.pod} exited with ${code} before ready:\n${tail}`)),
    );
  });
}

export async function startMesh(
  subnet: Subnet,
  initialYaml: string,
  options: { xdsAddress?: string; controlPlaneArgs?: readonly string[] } = {},
): Promise<Mesh> {
  const dir = mkdtempSync(join(tmpdir(), "crema-mesh-"));
  writeFileSync(join(dir, "00-initial.yaml"), initialYaml);
  const args = [
    "--config",
    dir,
    ...(options.xdsAddress ? ["--xds-address", options.xdsAddress] : []),
    ...(options.controlPlaneArgs ?? []),
  ];
  let controlPlane = await startControlPlaneProcess(args);
  let running = true;
  const echoes: EchoPod[] = [];
  const proxies: ProxyProcess[] = [];
  /** Every proxy process started, ready or not (one that never got ready is stopped too). */
  const children: ChildProcess[] = [];
  return {
    get controlPlane() {
      return controlPlane;
    },
    async stopControlPlane() {
      running = false;
      await controlPlane.stop();
    },
    async startControlPlane() {
      controlPlane = await startControlPlaneProcess(args);
      running = true;
    },
    ip: (host, n = 1) => `127.${subnet}.${host}.${n}`,
    apply(file, yaml) {
      writeFileSync(join(dir, file), yaml);
    },
    remove(file) {
      rmSync(join(dir, file), { force: true });
    },
    async startEcho(options) {
      const server = await startEchoServer({
        host: options.ip,
        port: options.port ?? 8080,
        pod: options.pod,
        namespace: "default",
        version: options.version ?? "v1",
        logger: silentLogger(),
        ...(options.grpcPort ? { grpcPort: options.grpcPort } : {}),
        ...(options.tcpPort ? { tcpPort: options.tcpPort } : {}),
      });
      const pod = { pod: options.pod, ip: options.ip, port: options.port ?? 8080, server };
      echoes.push(pod);
      return pod;
    },
    async startProxy(options) {
      const proxy = await startProxyProcess(controlPlane.xdsAddress, options, (child) =>
        children.push(child),
      );
      proxies.push(proxy);
      return proxy;
    },
    async stop() {
      await Promise.all(proxies.map((p) => p.stop()));
      await Promise.all(
        children
          .filter((child) => child.exitCode === null && child.signalCode === null)
          .map((child) => {
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGKILL");
            return exited;
          }),
      );
      await Promise.all(echoes.map((e) => e.server.stop({ drainTimeoutMs: 0 } as never)));
      if (running) await controlPlane.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
