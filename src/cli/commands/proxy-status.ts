// `crema proxy-status [POD]` (istioctl's proxy-status): whether every proxy connected to the
// control plane has ACKed the configuration last sent, per xDS type, from `/debug/syncz`.
import type { Command } from "commander";
import { fetchPods, findPod } from "../../runtime/runtime-state.ts";
import type { CliIo } from "../io.ts";
import type { CommandRegistrar } from "../main.ts";
import { baseUrl, fetchJson } from "../proxy-config/fetch-json.ts";
import { renderProxyDetail, selectConnection } from "../proxy-status/proxy-detail.ts";
import { buildStatusRows, decodeSyncz, renderStatusTable } from "../proxy-status/status-table.ts";
import { reportErrors, runningMesh, stateDirOption } from "../runtime-io.ts";

interface ProxyStatusFlags {
  controlPlane?: string;
  stateDir: string;
}

interface Target {
  /** The control plane's debug server. */
  url: string;
  /** The proxy asked about, as `pod.namespace` (or as the user wrote it, without a runtime). */
  proxy?: string;
}

/** Where to ask: --control-plane, else the local mesh of --state-dir (which also resolves POD). */
async function findTarget(io: CliIo, flags: ProxyStatusFlags, pod?: string): Promise<Target> {
  if (flags.controlPlane)
    return { url: baseUrl(flags.controlPlane), ...(pod ? { proxy: pod } : {}) };
  const state = runningMesh(io, flags.stateDir);
  const url = baseUrl(state.controlPlaneUrl);
  if (!pod) return { url };
  const found = findPod(await fetchPods(state), pod);
  return { url, proxy: `${found.name}.${found.namespace}` };
}

/** What the ISTIOD column shows: the control plane's address. */
function controlPlaneName(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export async function proxyStatus(
  io: CliIo,
  flags: ProxyStatusFlags,
  pod?: string,
): Promise<string> {
  const target = await findTarget(io, flags, pod);
  const syncz = `${target.url}/debug/syncz`;
  const connections = decodeSyncz(await fetchJson(syncz, "the control plane"), syncz);
  const istiod = controlPlaneName(target.url);
  if (target.proxy === undefined) return renderStatusTable(buildStatusRows(connections, istiod));
  return renderProxyDetail(selectConnection(connections, target.proxy), istiod);
}

export const registerProxyStatusCommand: CommandRegistrar = (program: Command, io: CliIo) => {
  program
    .command("proxy-status")
    .alias("ps")
    .description(
      "Show, per proxy and xDS type, whether the proxy has ACKed the configuration the control plane last sent (SYNCED), not yet or rejected it (STALE), or was sent none (NOT SENT); with POD, that proxy's versions, nonces and last rejection",
    )
    .argument("[pod]", "a pod or Deployment, as name or name.namespace")
    .option(
      "--control-plane <url>",
      "the control plane's debug server (its --http-address); default: the local mesh's",
    )
    .addOption(stateDirOption())
    .action((pod: string | undefined, flags: ProxyStatusFlags) =>
      reportErrors(io, async () => {
        io.stdout(await proxyStatus(io, flags, pod));
      }),
    );
};
