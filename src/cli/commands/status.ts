// `crema status [-o json]`: the local mesh's pods (namespace, name, readiness, restarts, pod IP,
// sidecar, app ports, labels) and the host ports of its ingress gateway.
import { Option } from "commander";
import { fetchPods, type PodStatus } from "../../runtime/runtime-state.ts";
import type { CommandRegistrar } from "../main.ts";
import { reportErrors, runningMesh, stateDirOption } from "../runtime-io.ts";
import { formatTable } from "../table.ts";

/** kubectl separates its columns by three spaces. */
const KUBECTL_PADDING = 3;

export function podTable(pods: readonly PodStatus[]): string {
  const labels = (pod: PodStatus) =>
    Object.entries(pod.labels)
      .filter(([k]) => k !== "pod-template-hash")
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
  return formatTable(
    ["NAMESPACE", "NAME", "READY", "RESTARTS", "POD IP", "SIDECAR", "PORTS", "LABELS"],
    pods.map((pod) => [
      pod.namespace,
      pod.name,
      pod.ready ? "yes" : "no",
      String(pod.restarts),
      pod.podIP,
      pod.gateway ? "gateway" : pod.sidecar ? "yes" : "no",
      pod.ports.join(",") || "-",
      labels(pod) || "-",
    ]),
    KUBECTL_PADDING,
  );
}

export const registerStatusCommand: CommandRegistrar = (program, io) => {
  program
    .command("status")
    .description("List the local mesh's pods and the ingress gateway's host ports")
    .addOption(stateDirOption())
    .addOption(
      new Option("-o, --output <format>", "output format")
        .choices(["table", "json"])
        .default("table"),
    )
    .action((flags: { stateDir: string; output: string }) =>
      reportErrors(io, async () => {
        const state = runningMesh(io, flags.stateDir);
        const pods = await fetchPods(state);
        if (flags.output === "json") {
          io.stdout(`${JSON.stringify({ ingress: state.ingress, pods }, null, 2)}\n`);
          return;
        }
        io.stdout(podTable(pods));
        const ingress = [state.ingress.http, state.ingress.https].filter(Boolean).join(", ");
        io.stdout(`\ningress gateway: ${ingress || "(not published)"}\n`);
      }),
    );
};
