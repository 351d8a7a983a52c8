// `crema echo`: runs the mesh's test workload (HTTP/1.1, h2c or TLS, gRPC, WebSocket, TCP echo).
import { resolve } from "node:path";
import type { Command } from "commander";
import { createLogger } from "../../base/logger.ts";
import {
  type EchoOptions,
  echoOptionsFromEnv,
  parseDrainTimeout,
  parseLabel,
  parsePort,
} from "../../echo/options.ts";
import type { EchoServer } from "../../echo/server.ts";
import type { CliIo } from "../io.ts";
import type { CommandRegistrar } from "../main.ts";
import { shutdownSignals } from "../signals.ts";

interface EchoFlags {
  host?: string;
  port?: string;
  grpcPort?: string;
  tcpPort?: string;
  pod?: string;
  namespace?: string;
  serviceVersion?: string;
  serviceAccount?: string;
  label?: string[];
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsRequireClientCert?: boolean;
  drainTimeout?: string;
  logLevel?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

/** Environment first, flags over it; labels from both are merged, flags winning per key. */
export function echoOptionsFromFlags(flags: EchoFlags, io: CliIo): EchoOptions {
  const options = echoOptionsFromEnv(io.env);
  if (flags.host !== undefined) options.host = flags.host;
  if (flags.port !== undefined) options.port = parsePort(flags.port, "--port");
  if (flags.grpcPort !== undefined) options.grpcPort = parsePort(flags.grpcPort, "--grpc-port");
  if (flags.tcpPort !== undefined) options.tcpPort = parsePort(flags.tcpPort, "--tcp-port");
  if (flags.pod !== undefined) options.pod = flags.pod;
  if (flags.namespace !== undefined) options.namespace = flags.namespace;
  if (flags.serviceVersion !== undefined) options.version = flags.serviceVersion;
  if (flags.serviceAccount !== undefined) options.serviceAccount = flags.serviceAccount;
  if (flags.label !== undefined) {
    options.labels = {
      ...options.labels,
      ...Object.fromEntries(flags.label.map((l) => parseLabel(l, "--label"))),
    };
  }
  const tls = { ...options.tls };
  if (flags.tlsCert !== undefined) tls.certFile = flags.tlsCert;
  if (flags.tlsKey !== undefined) tls.keyFile = flags.tlsKey;
  if (flags.tlsCa !== undefined) tls.caFile = flags.tlsCa;
  if (flags.tlsRequireClientCert) tls.requireClientCert = true;
  for (const key of ["certFile", "keyFile", "caFile"] as const) {
    const file = tls[key];
    if (file !== undefined) tls[key] = resolve(io.cwd, file);
  }
  if (Object.keys(tls).length > 0) options.tls = tls;
  if (flags.drainTimeout !== undefined) {
    options.drainTimeoutMs = parseDrainTimeout(flags.drainTimeout, "--drain-timeout");
  }
  return options;
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The readiness line: `echo listening http=H:P [grpc=H:P] [tcp=H:P] [tls=on]`. */
export function readinessLine(server: EchoServer): string {
  const parts = [`echo listening http=${hostPort(server.address, server.httpPort)}`];
  if (server.grpcPort !== undefined)
    parts.push(`grpc=${hostPort(server.address, server.grpcPort)}`);
  if (server.tcpPort !== undefined) parts.push(`tcp=${hostPort(server.address, server.tcpPort)}`);
  if (server.tls) parts.push("tls=on");
  return `${parts.join(" ")}\n`;
}

/** Serves until `shutdown` fires, then drains; a second signal (`cut`) ends the drain early. */
export async function runEcho(
  options: EchoOptions,
  io: CliIo,
  shutdown: AbortSignal,
  cut: AbortSignal,
): Promise<void> {
  // Loaded when the server starts, so that other commands skip the echo server's modules.
  const { startEchoServer } = await import("../../echo/server.ts");
  const server = await startEchoServer(options);
  io.stdout(readinessLine(server));
  if (!shutdown.aborted) {
    await new Promise<void>((done) =>
      shutdown.addEventListener("abort", () => done(), { once: true }),
    );
  }
  const stopping = server.stop();
  const onCut = () => void server.stop({ drainTimeoutMs: 0 });
  if (cut.aborted) onCut();
  else cut.addEventListener("abort", onCut, { once: true });
  try {
    await stopping;
  } finally {
    cut.removeEventListener("abort", onCut);
  }
}

export const registerEchoCommand: CommandRegistrar = (program: Command, io: CliIo) => {
  program
    .command("echo")
    .description(
      "Run the mesh's test workload: answers HTTP/1.1, HTTP/2, gRPC, WebSocket and TCP with what it received",
    )
    .option("--host <address>", "address to bind every port to (env HOST; default 0.0.0.0)")
    .option("--port <port>", "HTTP/1.1 + HTTP/2 port, 0 for any free one (env PORT; default 8080)")
    .option("--grpc-port <port>", "serve the gRPC echo service on this port (env GRPC_PORT)")
    .option("--tcp-port <port>", "serve raw TCP echo on this port (env TCP_PORT)")
    .option("--pod <name>", "pod name to report (env POD_NAME; default the host name)")
    .option("--namespace <name>", "namespace to report (env POD_NAMESPACE; default 'default')")
    .option(
      "--service-version <version>",
      "version to report (env SERVICE_VERSION or VERSION; default v1)",
    )
    .option(
      "--service-account <name>",
      "service account to report (env SERVICE_ACCOUNT; default 'default')",
    )
    .option("--label <key=value>", "label to report; repeatable (env LABELS=k=v,k2=v2)", collect)
    .option("--tls-cert <file>", "serve TLS with this PEM certificate chain (env TLS_CERT)")
    .option("--tls-key <file>", "private key for --tls-cert (env TLS_KEY)")
    .option(
      "--tls-ca <file>",
      "CA bundle: ask clients for a certificate and verify it (env TLS_CA)",
    )
    .option(
      "--tls-require-client-cert",
      "refuse TLS clients without a certificate (needs --tls-ca)",
    )
    .option(
      "--drain-timeout <duration>",
      "how long shutdown waits for running requests, e.g. 5s or 2500 (ms) (env DRAIN_TIMEOUT; default 5s)",
    )
    .option(
      "--log-level <level>",
      "log level on stderr: debug, info, warn, error (env CREMA_LOG_LEVEL)",
    )
    .action(async (flags: EchoFlags) => {
      const logger = createLogger({
        name: "echo",
        level: flags.logLevel ?? io.env.CREMA_LOG_LEVEL ?? "info",
        destination: { write: (line: string) => io.stderr(line) },
      });
      const options = { ...echoOptionsFromFlags(flags, io), logger };
      const signals = shutdownSignals(logger);
      try {
        await runEcho(options, io, signals.shutdown, signals.cut);
      } finally {
        signals.dispose();
      }
    });
};
