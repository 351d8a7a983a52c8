// `crema apply -f PATH` and `crema delete -f PATH`: change the running local mesh like kubectl.
// Istio resources go to the control plane (validated; an invalid file changes nothing);
// Deployments and Services add, scale and remove pods, and the registry follows.
import { resolve } from "node:path";
import { parseDuration } from "../../base/duration.ts";
import { CremaError } from "../../base/errors.ts";
import { readSources } from "../../config/source-file.ts";
import {
  changeConfig,
  MESH_SYNC_POLL_MS,
  meshReady,
  type RuntimeState,
} from "../../runtime/runtime-state.ts";
import type { CliIo } from "../io.ts";
import type { CommandRegistrar } from "../main.ts";
import { reportErrors, runningMesh, stateDirOption } from "../runtime-io.ts";

interface ChangeFlags {
  filename: string[];
  recursive?: boolean;
  stateDir: string;
  wait?: boolean;
  timeout: string;
}

/**
 * Waits until every pod the configuration asks for is ready and every proxy has ACKed the
 * configuration the change caused (the runtime's /ready), as `istioctl x wait` does for one
 * resource. The change has reached the control plane: until its push is out, the mesh is not
 * ready.
 */
async function waitForSync(state: RuntimeState, timeout: string): Promise<void> {
  const parsed = parseDuration(timeout);
  if (!parsed.ok)
    throw new CremaError("CREMA_BASE_INVALID_DURATION", `--timeout: ${parsed.reason}`);
  const deadline = Date.now() + parsed.ms;
  while (!(await meshReady(state))) {
    if (Date.now() > deadline) {
      throw new CremaError(
        "CREMA_RUNTIME_NOT_SYNCED",
        `the mesh was not synced after ${timeout}: 'crema proxy-status' shows which proxy is behind, 'crema status' which pod is not ready`,
      );
    }
    await new Promise((r) => setTimeout(r, MESH_SYNC_POLL_MS));
  }
}

async function change(verb: "apply" | "delete", flags: ChangeFlags, io: CliIo): Promise<void> {
  const state = runningMesh(io, flags.stateDir);
  const paths = flags.filename.map((p) => (p === "-" ? p : resolve(io.cwd, p)));
  const read = await readSources(paths, io.readStdin, { recursive: flags.recursive === true });
  if (read.diagnostics.length > 0) {
    throw new CremaError(
      "CREMA_RUNTIME_REQUEST_FAILED",
      `cannot read ${flags.filename.join(", ")}: ${read.diagnostics.map((d) => d.message).join("; ")}`,
    );
  }
  let rejected = false;
  // One request per file, in order, as kubectl does; each file is all or nothing.
  for (const file of read.files) {
    const result = await changeConfig(state, verb, file.text, file.path);
    if (!result.accepted) {
      rejected = true;
      io.stderr(
        `${file.path}: rejected, nothing in it was ${verb === "apply" ? "applied" : "deleted"}\n${result.report}`,
      );
      continue;
    }
    if (result.report.trim()) io.stderr(result.report);
    const past = verb === "apply" ? "configured" : "deleted";
    if (result.changed.length === 0) io.stdout(`${file.path}: unchanged\n`);
    for (const key of result.changed) io.stdout(`${key} ${past}\n`);
  }
  if (rejected) io.exit(1);
  else if (flags.wait) await waitForSync(state, flags.timeout);
}

export const registerApplyCommands: CommandRegistrar = (program, io) => {
  for (const verb of ["apply", "delete"] as const) {
    program
      .command(verb)
      .description(
        verb === "apply"
          ? "Add or replace resources in the running local mesh (like kubectl apply)"
          : "Remove resources from the running local mesh (like kubectl delete)",
      )
      .requiredOption("-f, --filename <path...>", "files or directories; '-' reads stdin")
      .option("-R, --recursive", "also read the folders inside the folders named")
      .option("--wait", "return once every proxy has the change and every pod it asks for is ready")
      .option("--timeout <duration>", "with --wait: how long to wait", "30s")
      .addOption(stateDirOption())
      .action((flags: ChangeFlags) => reportErrors(io, () => change(verb, flags, io)));
  }
};
