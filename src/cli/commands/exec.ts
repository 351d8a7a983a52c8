// `crema exec POD|DEPLOYMENT[.NAMESPACE] -- CMD…`: runs a command as if inside a pod of the local
// mesh — with the pod's environment, so its HTTP_PROXY sends calls through the pod's sidecar
// (or the node forwarder), the way `kubectl exec` runs it in the pod's network.
import { spawn } from "node:child_process";
import { CremaError } from "../../base/errors.ts";
import type { CommandRegistrar } from "../main.ts";
import { pickPod, reportErrors, runningMesh, stateDirOption } from "../runtime-io.ts";

export const registerExecCommand: CommandRegistrar = (program, io) => {
  program
    .command("exec")
    .description("Run a command as if inside a pod of the local mesh (like kubectl exec)")
    .argument("<pod>", "pod or Deployment, as name or name.namespace")
    .argument("<command...>", "the command and its arguments, after --")
    .addOption(stateDirOption())
    .action((target: string, command: string[], flags: { stateDir: string }) =>
      reportErrors(io, async () => {
        const state = runningMesh(io, flags.stateDir);
        const pod = await pickPod(io, state, target);
        const [file, ...args] = command;
        const code = await new Promise<number>((resolve, reject) => {
          const child = spawn(file!, args, { cwd: io.cwd, env: pod.env, stdio: "inherit" });
          child.once("error", (error: NodeJS.ErrnoException) =>
            reject(
              error.code === "ENOENT"
                ? new CremaError("CREMA_RUNTIME_REQUEST_FAILED", `command '${file}' not found`)
                : error,
            ),
          );
          child.once("exit", (exitCode, signal) => resolve(signal ? 128 : (exitCode ?? 1)));
        });
        io.exit(code);
      }),
    );
};
