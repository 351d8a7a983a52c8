// `crema proxy`: Envoy's job with pilot-agent's front — the node from Istio-style environment
// and flags, the workload certificates from the CA when one is given, then the proxy, serving
// until SIGTERM/SIGINT drains it.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { parseDuration } from "../../base/duration.ts";
import { CremaError, describeError, isCremaError } from "../../base/errors.ts";
import { createLogger, type Logger } from "../../base/logger.ts";
import { APP_PROBERS_ENV, parseAppProbers } from "../../proxy/agent/app-probers.ts";
import {
  PROMETHEUS_ANNOTATIONS_ENV,
  parseAppMetricsTarget,
} from "../../proxy/agent/metrics-merge.ts";
import {
  BOOTSTRAP_TOKEN_ENV,
  DEFAULT_CA_ROOT_CERT_FILE,
  DEFAULT_TOKEN_FILE,
  parseWorkloadCertificateConfig,
  type WorkloadCertificateConfig,
} from "../../proxy/agent/workload-certificate-config.ts";
import { buildProxyNode } from "../../proxy/bootstrap/node-identity.ts";
import type { ProxyOptions, RunningProxy } from "../../proxy/proxy-options.ts";
import type { CliIo } from "../io.ts";
import type { CommandRegistrar } from "../main.ts";
import { shutdownSignals } from "../signals.ts";

export interface ProxyFlags {
  xdsAddress?: string;
  type?: string;
  podName?: string;
  namespace?: string;
  ip?: string;
  serviceAccount?: string;
  label?: string[];
  meta?: string[];
  appAddress?: string;
  localRuntime?: boolean;
  xdsProtocol?: string;
  adminAddress?: string;
  readinessAddress?: string;
  statusAddress?: string;
  prometheusAddress?: string;
  sourceAddress?: string;
  concurrency?: string;
  drainTime?: string;
  logLevel?: string;
  caAddress?: string;
  caRootCert?: string;
  tokenFile?: string;
}

const ADMIN_PORT = 15000;
const READINESS_PORT = 15021;
const STATUS_PORT = 15020;
const PROMETHEUS_PORT = 15090;
const DEFAULT_CONCURRENCY = 2;
const DEFAULT_DRAIN_TIME = "5s";
const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

function invalid(message: string): CremaError {
  return new CremaError("CREMA_PROXY_INVALID_FLAG", message);
}

/** `host:port` or `[v6]:port`; port 0 lets the system pick unless `anyPort` is false. */
export function parseHostPort(
  text: string,
  what: string,
  anyPort = true,
): { host: string; port: number } {
  const match = text.trim().match(/^(?:\[([^\]]+)\]|([^\s:[\]]+)):(\d{1,5})$/);
  const port = Number(match?.[3]);
  if (!match || port > 65535 || (!anyPort && port === 0)) {
    throw invalid(
      `${what} must be HOST:PORT with a port from ${anyPort ? 0 : 1} to 65535, got '${text}'`,
    );
  }
  return { host: match[1] ?? match[2]!, port };
}

function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Threads carrying traffic; 0 is one per core (Istio's ProxyConfig.concurrency 0). */
function parseConcurrency(text: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw invalid(
      `--concurrency must be a whole number of threads (0: one per core), got '${text}'`,
    );
  }
  return Number(text) === 0 ? availableParallelism() : Number(text);
}

/** host:port equality, ignoring IPv6 brackets. */
function sameAddress(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .trim()
      .replace(/^\[(.*)\](:\d+)$/, "$1$2")
      .toLowerCase();
  return norm(a) === norm(b);
}

function parseDrainTime(text: string): number {
  const parsed = parseDuration(text.trim());
  if (!parsed.ok || parsed.ms < 0 || !Number.isFinite(parsed.ms)) {
    throw invalid(`--drain-time must be a duration such as '5s' or '500ms', got '${text}'`);
  }
  return parsed.ms;
}

/** Pod IPs of the local runtime are 127.x loopback addresses other than 127.0.0.1 (DESIGN §3). */
function isLocalRuntimePodIp(ip: string): boolean {
  return isIP(ip) === 4 && ip.startsWith("127.") && ip !== "127.0.0.1";
}

/** The log level flag or CREMA_LOG_LEVEL, checked (pino throws on an unknown one). */
export function proxyLogLevel(flags: ProxyFlags, io: CliIo): string {
  const level = flags.logLevel ?? io.env.CREMA_LOG_LEVEL ?? "info";
  if (!LOG_LEVELS.includes(level)) {
    throw invalid(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got '${level}'`);
  }
  return level;
}

/** crema's version from package.json (three levels up from src/cli/commands and dist/cli/commands). */
function cremaVersion(): string | undefined {
  try {
    const text = readFileSync(new URL("../../../package.json", import.meta.url), "utf8");
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === "string" ? version : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves flags over the environment into ProxyOptions; throws CREMA_PROXY_INVALID_FLAG. */
export function proxyOptionsFromFlags(
  flags: ProxyFlags,
  io: CliIo,
  logger: Logger,
  version = cremaVersion(),
): ProxyOptions {
  const xdsText = flags.xdsAddress ?? io.env.XDS_ADDRESS;
  if (xdsText === undefined || xdsText.trim() === "") {
    throw invalid("--xds-address (or XDS_ADDRESS) is required: the control plane's HOST:PORT");
  }
  const xds = parseHostPort(xdsText, "--xds-address", false);
  const protocol = flags.xdsProtocol ?? "sotw";
  if (protocol !== "sotw" && protocol !== "delta") {
    throw invalid(`--xds-protocol must be sotw or delta, got '${protocol}'`);
  }
  const identity = buildProxyNode({
    env: io.env,
    version,
    flags: {
      ...(flags.type !== undefined ? { type: flags.type } : {}),
      ...(flags.podName !== undefined ? { podName: flags.podName } : {}),
      ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
      ...(flags.ip !== undefined ? { ip: flags.ip } : {}),
      ...(flags.serviceAccount !== undefined ? { serviceAccount: flags.serviceAccount } : {}),
      ...(flags.appAddress !== undefined ? { appAddress: flags.appAddress } : {}),
      labels: flags.label ?? [],
      meta: flags.meta ?? [],
      localRuntime: flags.localRuntime === true,
    },
  });
  // In the local runtime every pod's proxy has an admin server, so each binds its own pod IP.
  const adminAddress = flags.adminAddress
    ? parseHostPort(flags.adminAddress, "--admin-address")
    : { host: flags.localRuntime ? identity.ip : "127.0.0.1", port: ADMIN_PORT };
  const readinessAddress = flags.readinessAddress
    ? parseHostPort(flags.readinessAddress, "--readiness-address")
    : { host: identity.ip, port: READINESS_PORT };
  const statusAddress = flags.statusAddress
    ? parseHostPort(flags.statusAddress, "--status-address")
    : { host: identity.ip, port: STATUS_PORT };
  const prometheusAddress = flags.prometheusAddress
    ? parseHostPort(flags.prometheusAddress, "--prometheus-address")
    : { host: identity.ip, port: PROMETHEUS_PORT };
  // pilot-agent refuses to start on a bad value; so does crema (a config error, not a probe failure).
  const probers = parseAppProbers(io.env[APP_PROBERS_ENV]);
  if (!probers.ok) {
    throw invalid(`${APP_PROBERS_ENV} is invalid:\n  ${probers.errors.join("\n  ")}`);
  }
  const appMetrics = parseAppMetricsTarget(io.env[PROMETHEUS_ANNOTATIONS_ENV]);
  if (!appMetrics.ok) throw invalid(appMetrics.error);
  const metadataApp = (identity.node.metadata as { CREMA_APP_ADDRESS?: unknown } | undefined)
    ?.CREMA_APP_ADDRESS;
  const sourceAddress =
    flags.sourceAddress ?? (isLocalRuntimePodIp(identity.ip) ? identity.ip : undefined);
  if (sourceAddress !== undefined && isIP(sourceAddress) === 0) {
    throw invalid(`--source-address '${sourceAddress}' is not an IP address`);
  }
  return {
    xdsAddress: formatHostPort(xds.host, xds.port),
    node: identity.node,
    type: identity.type,
    xdsProtocol: protocol,
    adminAddress,
    readinessAddress,
    statusAddress,
    prometheusAddress,
    appProbers: probers.probers,
    ...(appMetrics.target ? { appMetrics: appMetrics.target } : {}),
    // Probes reach the app where the sidecar forwards inbound traffic.
    appAddress: typeof metadataApp === "string" && metadataApp !== "" ? metadataApp : "127.0.0.1",
    ...(sourceAddress !== undefined ? { sourceAddress } : {}),
    concurrency:
      flags.concurrency !== undefined ? parseConcurrency(flags.concurrency) : DEFAULT_CONCURRENCY,
    drainTimeMs: parseDrainTime(flags.drainTime ?? DEFAULT_DRAIN_TIME),
    logger,
  };
}

/**
 * The agent's certificate settings when a CA is given (--ca-address or CA_ADDR), else undefined:
 * the proxy then runs without certificates. Throws CREMA_PROXY_INVALID_FLAG.
 */
export function workloadCertificatesFromFlags(
  flags: ProxyFlags,
  io: CliIo,
  options: ProxyOptions,
  readTextFile?: (path: string) => string | undefined,
): WorkloadCertificateConfig | undefined {
  const caText = flags.caAddress ?? io.env.CA_ADDR;
  if (caText === undefined || caText.trim() === "") return undefined;
  const ca = parseHostPort(caText, "--ca-address", false);
  const metadata = (options.node.metadata ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return parseWorkloadCertificateConfig({
    caAddress: formatHostPort(ca.host, ca.port),
    ...(flags.caRootCert !== undefined ? { caRootCert: flags.caRootCert } : {}),
    ...(flags.tokenFile !== undefined ? { tokenFile: flags.tokenFile } : {}),
    namespace: text(metadata.NAMESPACE) ?? "",
    serviceAccount: text(metadata.SERVICE_ACCOUNT) ?? "default",
    ...(text(metadata.TRUST_DOMAIN) ? { metadataTrustDomain: text(metadata.TRUST_DOMAIN) } : {}),
    env: io.env,
    ...(readTextFile ? { readTextFile } : {}),
  });
}

/** `proxy started admin=URL readiness=URL status=URL prometheus=URL node=ID`, once the servers
 * listen. */
export function startedLine(running: RunningProxy, nodeId: string): string {
  const readiness = running.readinessUrl ? ` readiness=${running.readinessUrl}` : "";
  const status = running.statusUrl ? ` status=${running.statusUrl}` : "";
  const prometheus = running.prometheusUrl ? ` prometheus=${running.prometheusUrl}` : "";
  return `proxy started admin=${running.adminUrl}${readiness}${status}${prometheus} node=${nodeId}\n`;
}

export interface ProxyRun {
  /** Asks for a drain: close() and return. */
  shutdown: AbortSignal;
  /** Asks to stop at once, without waiting for the drain. */
  cut: AbortSignal;
  /** Ends the process now (the CLI exits; tests record it). */
  exitNow: () => void;
  start?: (options: ProxyOptions) => Promise<RunningProxy>;
  /** The agent's workload certificates (already passed as options.secrets): "proxy ready"
   * waits for the first one, and they stop renewing when the proxy closes. */
  certificates?: { ready(): Promise<void>; close(): void };
}

/** Starts the proxy, reports it started and ready, and closes it when `shutdown` fires. */
export async function runProxy(options: ProxyOptions, io: CliIo, run: ProxyRun): Promise<void> {
  const onCut = () => run.exitNow();
  run.cut.addEventListener("abort", onCut, { once: true });
  try {
    // Loaded here, so that every other command skips the proxy's modules.
    const start = run.start ?? (await import("../../proxy/proxy.ts")).startProxy;
    const running = await start(options);
    io.stdout(startedLine(running, String(options.node.id)));
    // With a CA, ready also means the workload certificate is in hand.
    Promise.all([running.ready, run.certificates?.ready()]).then(
      () => {
        if (!run.shutdown.aborted) io.stdout("proxy ready\n");
      },
      (error: unknown) => {
        if (!run.shutdown.aborted) options.logger.warn({ err: error }, "proxy never became ready");
      },
    );
    if (!run.shutdown.aborted) {
      await new Promise<void>((done) =>
        run.shutdown.addEventListener("abort", () => done(), { once: true }),
      );
    }
    await running.close();
  } finally {
    run.certificates?.close();
    run.cut.removeEventListener("abort", onCut);
  }
}

export const registerProxyCommand: CommandRegistrar = (program: Command, io: CliIo) => {
  program
    .command("proxy")
    .description(
      "Run the proxy (Envoy's job, started as pilot-agent starts it): take configuration from the control plane over xDS and carry the pod's traffic",
    )
    .option(
      "--xds-address <host:port>",
      "the control plane's xDS (ADS) address; required (env XDS_ADDRESS)",
    )
    .option("--type <type>", "sidecar or router (a gateway); default sidecar")
    .option("--pod-name <name>", "pod name (env POD_NAME); required")
    .option("--namespace <name>", "pod namespace (env POD_NAMESPACE); required")
    .option("--ip <address>", "pod IP (env INSTANCE_IP); required")
    .option(
      "--service-account <name>",
      "pod service account (env SERVICE_ACCOUNT; default 'default')",
    )
    .option(
      "--label <key=value>",
      "pod label; repeatable, over env ISTIO_METAJSON_LABELS per key",
      collect,
    )
    .option(
      "--meta <key=value>",
      "node metadata, as env ISTIO_META_<key>=<value>; repeatable",
      collect,
    )
    .option(
      "--app-address <ip>",
      "where the app listens for inbound traffic in the local runtime (metadata CREMA_APP_ADDRESS)",
    )
    .option(
      "--local-runtime",
      "run as a proxy of crema's local runtime (metadata CREMA_LOCAL_RUNTIME)",
    )
    .option("--xds-protocol <protocol>", "sotw or delta; default sotw")
    .option(
      "--admin-address <host:port>",
      "admin server; default 127.0.0.1:15000, or <ip>:15000 with --local-runtime",
    )
    .option(
      "--readiness-address <host:port>",
      "readiness server (/healthz/ready); default <ip>:15021",
    )
    .option(
      "--status-address <host:port>",
      "the agent's status server (/app-health/… probes from env ISTIO_KUBE_APP_PROBERS, /healthz/ready); default <ip>:15020",
    )
    .option(
      "--prometheus-address <host:port>",
      "Envoy's Prometheus endpoint (/stats/prometheus: envoy_* and Istio's istio_* metrics); default <ip>:15090",
    )
    .option(
      "--source-address <ip>",
      "source address of upstream connections; default the pod IP when it is a 127.x address other than 127.0.0.1",
    )
    .option(
      "--concurrency <n>",
      "threads carrying traffic (the main one and n−1 workers; 0: one per core); default 2",
    )
    .option(
      "--drain-time <duration>",
      "how long draining listeners keep serving on shutdown, e.g. 5s; default 5s",
    )
    .option(
      "--log-level <level>",
      "log level on stderr: debug, info, warn, error (env CREMA_LOG_LEVEL)",
    )
    .option(
      "--ca-address <host:port>",
      "the CA's CSR API (TLS) for workload certificates (env CA_ADDR); without it, no certificates",
    )
    .option(
      "--ca-root-cert <file>",
      `the root that signs the CA's certificate, or SYSTEM (env CA_ROOT_CA); default ${DEFAULT_CA_ROOT_CERT_FILE}`,
    )
    .option(
      "--token-file <file>",
      `the token the CA authenticates the workload with, read before each request; default env ${BOOTSTRAP_TOKEN_ENV}, else ${DEFAULT_TOKEN_FILE}`,
    )
    .action(async (flags: ProxyFlags) => {
      let options: ProxyOptions;
      let certificateConfig: WorkloadCertificateConfig | undefined;
      try {
        const logger = createLogger({
          name: "proxy",
          level: proxyLogLevel(flags, io),
          destination: { write: (line: string) => io.stderr(line) },
        });
        options = proxyOptionsFromFlags(flags, io, logger);
        certificateConfig = workloadCertificatesFromFlags(flags, io, options);
      } catch (error) {
        if (!isCremaError(error)) throw error;
        // A bad flag is a usage error, as commander's own are.
        io.stderr(`crema: ${describeError(error)}\n`);
        io.exit(2);
        return;
      }
      // As pilot-agent with istiod's 15012: xDS on the CA's TLS port goes over TLS, with the
      // workload certificate.
      if (certificateConfig && sameAddress(options.xdsAddress, certificateConfig.caAddress)) {
        const { caServerName } = await import("../../proxy/agent/istio-ca-client.ts");
        options = {
          ...options,
          xdsTls: {
            serverName: caServerName(certificateConfig.caAddress),
            rootsPem: certificateConfig.caRootsPem,
          },
        };
      }
      // The first CSR goes out while the proxy starts; the proxy reads TLS material from it.
      const certificates = certificateConfig
        ? (await import("../../proxy/agent/workload-certificates.ts"))
            .workloadCertificatesFromConfig(certificateConfig, { logger: options.logger })
            .start()
        : undefined;
      const signals = shutdownSignals(options.logger);
      try {
        await runProxy(
          certificates
            ? { ...options, secrets: certificates, secretsReady: certificates.ready() }
            : options,
          io,
          {
            shutdown: signals.shutdown,
            cut: signals.cut,
            exitNow: () => process.exit(0),
            ...(certificates ? { certificates } : {}),
          },
        );
      } finally {
        signals.dispose();
      }
    });
};
