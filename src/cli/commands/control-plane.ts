// `crema control-plane`: istiod's job — serves xDS built from Istio YAML files, watched.
import type { Command } from "commander";
import { createLogger } from "../../base/logger.ts";
import { validateMeshAccessLog } from "../../control-plane/model/mesh-access-log.ts";
import type {
  AccessLogEncoding,
  OutboundTrafficPolicyMode,
} from "../../control-plane/model/mesh-config.ts";
import type { CliIo } from "../io.ts";
import type { CommandRegistrar } from "../main.ts";
import { readMeshConfigFile } from "../mesh-config-file.ts";
import { shutdownSignals } from "../signals.ts";

interface ControlPlaneFlags {
  config: string[];
  xdsAddress: string;
  secureXdsAddress: string;
  caDir?: string;
  httpAddress: string;
  namespace?: string;
  rootNamespace?: string;
  outboundTrafficPolicy?: string;
  accessLogFile?: string;
  accessLogEncoding?: string;
  accessLogFormat?: string;
  meshConfig?: string;
  watch: boolean;
  logLevel?: string;
}

export const registerControlPlaneCommand: CommandRegistrar = (program, io: CliIo) => {
  program
    .command("control-plane")
    .description(
      "Run the control plane: serve Envoy xDS built from Istio configuration files, pushed live as they change",
    )
    .requiredOption(
      "--config <path...>",
      "YAML/JSON files or directories (read recursively and watched)",
    )
    .option("--xds-address <host:port>", "plaintext gRPC xDS address (ADS)", "127.0.0.1:15010")
    .option(
      "--ca-dir <dir>",
      "run the certificate authority, keeping its root here (an Istio cacerts layout in <dir>/cacerts is used instead when present)",
    )
    .option(
      "--secure-xds-address <host:port>",
      "TLS gRPC address of the CA's CSR API and xDS (with --ca-dir)",
      "127.0.0.1:15012",
    )
    .option(
      "--http-address <host:port>",
      "debug endpoints, readiness and metrics",
      "127.0.0.1:15014",
    )
    .option("-n, --namespace <name>", "namespace for resources that name none", "default")
    .option("--root-namespace <name>", "namespace whose config applies mesh-wide", "istio-system")
    .option("--outbound-traffic-policy <mode>", "ALLOW_ANY or REGISTRY_ONLY", "ALLOW_ANY")
    .option(
      "--access-log-file <path>",
      "meshConfig.accessLogFile: where every proxy writes access logs (/dev/stdout, a file); off when empty",
      "",
    )
    .option(
      "--access-log-encoding <encoding>",
      "meshConfig.accessLogEncoding: TEXT or JSON",
      "TEXT",
    )
    .option(
      "--access-log-format <format>",
      "meshConfig.accessLogFormat: an Envoy format string (TEXT) or a JSON object of them (JSON)",
      "",
    )
    .option(
      "--mesh-config <file>",
      "Istio MeshConfig YAML (the istio ConfigMap's `mesh`): access logs, pathNormalization, extensionProviders (tracing, access logs, prometheus, ext_authz), defaultProviders (tracing, metrics, accessLogging), defaultConfig.tracing.sampling; flags override it",
    )
    .option("--no-watch", "do not watch the configuration paths")
    .option("--log-level <level>", "debug, info, warn, error (env CREMA_LOG_LEVEL)")
    .action(async (flags: ControlPlaneFlags, command: Command) => {
      const logger = createLogger({
        name: "control-plane",
        level: flags.logLevel ?? io.env.CREMA_LOG_LEVEL ?? "info",
        destination: { write: (line: string) => io.stderr(line) },
      });
      const mode = flags.outboundTrafficPolicy?.toUpperCase();
      if (mode !== "ALLOW_ANY" && mode !== "REGISTRY_ONLY") {
        io.stderr("crema: --outbound-traffic-policy is ALLOW_ANY or REGISTRY_ONLY\n");
        io.exit(2);
        return;
      }
      const fromFile = flags.meshConfig ? await readMeshConfigFile(flags.meshConfig, io) : {};
      if (fromFile === undefined) {
        io.exit(2);
        return;
      }
      // A flag given on the command line wins over the file; the file wins over flag defaults.
      const given = (name: string) => command.getOptionValueSource(name) === "cli";
      const accessLog = {
        accessLogFile:
          (given("accessLogFile") ? flags.accessLogFile : fromFile.accessLogFile) ?? "",
        accessLogEncoding: (
          (given("accessLogEncoding") ? flags.accessLogEncoding : fromFile.accessLogEncoding) ??
          "TEXT"
        ).toUpperCase() as AccessLogEncoding,
        accessLogFormat:
          (given("accessLogFormat") ? flags.accessLogFormat : fromFile.accessLogFormat) ?? "",
      };
      const accessLogErrors = validateMeshAccessLog(accessLog);
      if (accessLogErrors.length > 0) {
        for (const error of accessLogErrors) io.stderr(`crema: ${error}\n`);
        io.exit(2);
        return;
      }
      const signals = shutdownSignals(logger);
      try {
        // Loaded here, so that every other command (a proxy in each pod) skips the control plane.
        const { startControlPlane } = await import("../../control-plane/control-plane.ts");
        const { translateProxy } = await import("../../control-plane/translate/translate-proxy.ts");
        const controlPlane = await startControlPlane({
          configPaths: flags.config,
          xdsAddress: flags.xdsAddress,
          httpAddress: flags.httpAddress,
          ...(flags.caDir
            ? { ca: { dir: flags.caDir }, secureXdsAddress: flags.secureXdsAddress }
            : {}),
          defaultNamespace: flags.namespace ?? "default",
          meshConfig: {
            ...fromFile,
            rootNamespace: flags.rootNamespace ?? "istio-system",
            outboundTrafficPolicy: mode as OutboundTrafficPolicyMode,
            // With a CA, proxies carry workload certificates: mTLS and authorization are on.
            workloadCertificates: flags.caDir !== undefined,
            ...accessLog,
          },
          watch: flags.watch,
          translate: translateProxy,
          logger,
        });
        const secure = controlPlane.secureXdsAddress
          ? ` secure-xds=${controlPlane.secureXdsAddress}`
          : "";
        io.stdout(
          `control-plane ready xds=${controlPlane.xdsAddress} http=${controlPlane.httpUrl}${secure}\n`,
        );
        if (!signals.shutdown.aborted) {
          await new Promise<void>((done) =>
            signals.shutdown.addEventListener("abort", () => done(), { once: true }),
          );
        }
        await controlPlane.close();
      } finally {
        signals.dispose();
      }
    });
};
