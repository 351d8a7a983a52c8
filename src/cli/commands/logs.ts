// `crema logs POD [-c CONTAINER] [-f]`: a pod's container output, from the log files the local
// runtime keeps in its state directory. `-c proxy` (or istio-proxy) shows the sidecar's.
import { createReadStream, statSync, watch } from "node:fs";
import { CremaError } from "../../base/errors.ts";
import { PROXY_CONTAINER } from "../../runtime/local-pod.ts";
import type { ContainerStatus, PodStatus } from "../../runtime/runtime-state.ts";
import type { CliIo } from "../io.ts";
import type { CommandRegistrar } from "../main.ts";
import { pickPod, reportErrors, runningMesh, stateDirOption } from "../runtime-io.ts";

function pickContainer(pod: PodStatus, wanted: string | undefined): ContainerStatus {
  const name = wanted === "proxy" ? PROXY_CONTAINER : wanted;
  const container = name
    ? pod.containers.find((c) => c.name === name)
    : (pod.containers.find((c) => c.kind === "app") ?? pod.containers[0]);
  if (!container) {
    throw new CremaError(
      "CREMA_RUNTIME_POD_NOT_FOUND",
      `pod ${pod.name} has no container '${wanted}'; its containers: ${pod.containers.map((c) => c.name).join(", ")}`,
    );
  }
  return container;
}

function copy(file: string, from: number, io: CliIo): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(file, { start: from, encoding: "utf8" });
    let read = from;
    stream.on("data", (chunk) => {
      read += Buffer.byteLength(chunk as string);
      io.stdout(chunk as string);
    });
    stream.once("end", () => resolve(read));
    stream.once("error", reject);
  });
}

/** Prints what is appended to `file` until the process is interrupted. */
async function follow(file: string, from: number, io: CliIo): Promise<void> {
  let offset = from;
  let copying = Promise.resolve();
  const watcher = watch(file, () => {
    copying = copying.then(async () => {
      if (statSync(file).size > offset) offset = await copy(file, offset, io);
    });
  });
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  watcher.close();
}

export const registerLogsCommand: CommandRegistrar = (program, io) => {
  program
    .command("logs")
    .description("Print a pod's container output (like kubectl logs)")
    .argument("<pod>", "pod or Deployment, as name or name.namespace")
    .option("-c, --container <name>", "container name; 'proxy' for the sidecar")
    .option("-f, --follow", "keep printing what the container writes")
    .addOption(stateDirOption())
    .action((target: string, flags: { container?: string; follow?: boolean; stateDir: string }) =>
      reportErrors(io, async () => {
        const state = runningMesh(io, flags.stateDir);
        const pod = await pickPod(io, state, target);
        const { logFile } = pickContainer(pod, flags.container);
        const end = await copy(logFile, 0, io);
        if (flags.follow) await follow(logFile, end, io);
      }),
    );
};
