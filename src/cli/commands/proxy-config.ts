// `crema proxy-config clusters|listeners|routes|endpoints|secret|all POD` (istioctl's
// proxy-config): a proxy's configuration as its admin server reports it (`/config_dump`,
// `/clusters?format=json`), as istioctl's tables or as JSON/YAML.
import { type Command, InvalidArgumentError, Option } from "commander";
import { CremaError } from "../../base/errors.ts";
import { fetchPods, findPod } from "../../runtime/runtime-state.ts";
import type { CliIo } from "../io.ts";
import type { CommandRegistrar } from "../main.ts";
import {
  buildClusterRows,
  type ClusterFilter,
  renderClustersTable,
  selectClusters,
} from "../proxy-config/clusters-table.ts";
import { type ConfigDump, decodeConfigDump, withoutType } from "../proxy-config/config-dump.ts";
import {
  buildEndpointRows,
  decodeClusterStatuses,
  type EndpointFilter,
  renderEndpointsTable,
  selectClusterStatuses,
} from "../proxy-config/endpoints-table.ts";
import { baseUrl, fetchJson } from "../proxy-config/fetch-json.ts";
import {
  buildListenerRows,
  type ListenerFilter,
  renderListenersTable,
  selectListeners,
} from "../proxy-config/listeners-table.ts";
import { formatStructured, OUTPUT_FORMATS, type OutputFormat } from "../proxy-config/output.ts";
import {
  buildRouteRows,
  type RouteFilter,
  renderRoutesTable,
  selectRoutes,
} from "../proxy-config/routes-table.ts";
import { buildSecretRows, renderSecretsTable } from "../proxy-config/secrets-table.ts";
import { reportErrors, runningMesh, stateDirOption } from "../runtime-io.ts";

interface CommonFlags {
  output: OutputFormat;
  admin?: string;
  stateDir: string;
}

type Flags = CommonFlags & ClusterFilter & ListenerFilter & RouteFilter & EndpointFilter;

/** The admin server of a pod of the local mesh in `stateDir`. */
async function podAdmin(io: CliIo, stateDir: string, pod: string): Promise<string> {
  const state = runningMesh(io, stateDir);
  const found = findPod(await fetchPods(state), pod);
  if (!found.adminUrl) {
    throw new CremaError(
      "CREMA_RUNTIME_POD_NOT_FOUND",
      `pod ${found.name}.${found.namespace} runs no proxy (no sidecar injected): it has no proxy configuration to show`,
    );
  }
  return baseUrl(found.adminUrl);
}

const ADMIN = "the proxy's admin server";

async function configDump(admin: string, includeEds = false): Promise<ConfigDump> {
  const url = `${admin}/config_dump${includeEds ? "?include_eds" : ""}`;
  return decodeConfigDump(await fetchJson(url, ADMIN), url);
}

async function clusterStatuses(admin: string) {
  const url = `${admin}/clusters?format=json`;
  return decodeClusterStatuses(await fetchJson(url, ADMIN), url);
}

interface Kind {
  name: string;
  aliases: string[];
  description: string;
  options?: (command: Command) => void;
  show(admin: string, flags: Flags): Promise<string>;
}

/** Short output is the table; json and yaml print the resources the table was built from. */
function either(flags: Flags, table: () => string, data: () => unknown): string {
  return flags.output === "short" ? table() : formatStructured(data(), flags.output);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new InvalidArgumentError("a port is a number from 1 to 65535");
  }
  return port;
}

const portOption = () => new Option("--port <port>", "only this port").argParser(parsePort);

const KINDS: readonly Kind[] = [
  {
    name: "clusters",
    aliases: ["cluster", "c"],
    description:
      "The proxy's clusters: service FQDN, port, subset, direction, type, DestinationRule",
    options: (c) =>
      c
        .option("--fqdn <fqdn>", "only clusters whose name contains this FQDN")
        .addOption(portOption())
        .option("--subset <subset>", "only this subset")
        .addOption(
          new Option("--direction <direction>", "only inbound or outbound clusters").choices([
            "inbound",
            "outbound",
          ]),
        ),
    async show(admin, flags) {
      const dump = await configDump(admin);
      return either(
        flags,
        () => renderClustersTable(buildClusterRows(dump.clusters, flags)),
        () => selectClusters(dump.clusters, flags).map(withoutType),
      );
    },
  },
  {
    name: "listeners",
    aliases: ["listener", "l"],
    description: "The proxy's listeners: one row per filter chain with its match and destination",
    options: (c) =>
      c
        .option("--address <address>", "only listeners on this address")
        .addOption(portOption())
        .option("--type <type>", "only HTTP, TCP, HTTP+TCP or UNKNOWN listeners"),
    async show(admin, flags) {
      const dump = await configDump(admin);
      return either(
        flags,
        () => renderListenersTable(buildListenerRows(dump.listeners, flags)),
        () => selectListeners(dump.listeners, flags).map(withoutType),
      );
    },
  },
  {
    name: "routes",
    aliases: ["route", "r"],
    description:
      "The proxy's routes: route configuration, virtual host, domains, match, VirtualService",
    options: (c) => c.option("--name <name>", "only the route configuration of this name"),
    async show(admin, flags) {
      const dump = await configDump(admin);
      return either(
        flags,
        () => renderRoutesTable(buildRouteRows(dump.routes, flags)),
        () => selectRoutes(dump.routes, flags).map(withoutType),
      );
    },
  },
  {
    name: "endpoints",
    aliases: ["endpoint", "ep"],
    description: "The proxy's endpoints: address, health, outlier ejection and cluster",
    options: (c) =>
      c
        .option("--address <address>", "only endpoints at this address")
        .addOption(portOption())
        .option("--cluster <cluster>", "only endpoints of this cluster (its full name)")
        .option("--status <status>", "only endpoints with this health (HEALTHY, UNHEALTHY …)"),
    async show(admin, flags) {
      const statuses = await clusterStatuses(admin);
      return either(
        flags,
        () => renderEndpointsTable(buildEndpointRows(statuses, flags)),
        () => selectClusterStatuses(statuses, flags),
      );
    },
  },
  {
    name: "secret",
    aliases: ["secrets", "s"],
    description: "The proxy's SDS secrets: certificate chain or CA, status, validity and dates",
    async show(admin, flags) {
      const dump = await configDump(admin);
      return either(
        flags,
        () => renderSecretsTable(buildSecretRows(dump.secrets)),
        () => dump.secrets,
      );
    },
  },
  {
    name: "all",
    aliases: ["a"],
    description:
      "Clusters, listeners, routes, secrets and endpoints together (-o json: the whole dump)",
    async show(admin, flags) {
      const dump = await configDump(admin, true);
      if (flags.output !== "short") return formatStructured(dump.raw, flags.output);
      const statuses = await clusterStatuses(admin);
      return [
        renderClustersTable(buildClusterRows(dump.clusters)),
        renderListenersTable(buildListenerRows(dump.listeners)),
        renderRoutesTable(buildRouteRows(dump.routes)),
        renderSecretsTable(buildSecretRows(dump.secrets)),
        renderEndpointsTable(buildEndpointRows(statuses)),
      ].join("\n");
    },
  },
];

export const registerProxyConfigCommand: CommandRegistrar = (program: Command, io: CliIo) => {
  const proxyConfig = program
    .command("proxy-config")
    .alias("pc")
    .description(
      "Show a proxy's configuration as its admin server reports it: clusters, listeners, routes, endpoints, secrets",
    );
  for (const kind of KINDS) {
    const command = proxyConfig
      .command(kind.name)
      .aliases(kind.aliases)
      .description(kind.description)
      .argument("[pod]", "a pod or Deployment, as name or name.namespace")
      .addOption(
        new Option("-o, --output <format>", "short (a table), json or yaml")
          .choices(OUTPUT_FORMATS)
          .default("short"),
      )
      .option("--admin <url>", "the proxy's admin server; default: the pod's in the local mesh")
      .addOption(stateDirOption());
    kind.options?.(command);
    command.action((pod: string | undefined, flags: Flags, self: Command) =>
      reportErrors(io, async () => {
        const admin = flags.admin
          ? baseUrl(flags.admin)
          : pod
            ? await podAdmin(io, flags.stateDir, pod)
            : self.error("error: name a pod (name or name.namespace), or give --admin <url>");
        io.stdout(await kind.show(admin, flags));
      }),
    );
  }
};
