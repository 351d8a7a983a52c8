// What the commands that talk to a running local mesh share: the --state-dir option, finding
// the mesh, and printing its errors the same way.
import { resolve } from "node:path";
import { Option } from "commander";
import { describeError, isCremaError } from "../base/errors.ts";
import {
  DEFAULT_STATE_DIR,
  fetchPods,
  findPod,
  type PodStatus,
  type RuntimeState,
  readRuntimeState,
} from "../runtime/runtime-state.ts";
import type { CliIo } from "./io.ts";

/** The `--state-dir` option every command that talks to a running mesh takes. */
export const stateDirOption = () =>
  new Option("--state-dir <dir>", "the state directory `crema up` was given").default(
    DEFAULT_STATE_DIR,
  );

/** Runs `action`, printing a CremaError as `crema: CODE: message` with exit code 1. */
export async function reportErrors(io: CliIo, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!isCremaError(error)) throw error;
    io.stderr(`crema: ${describeError(error)}\n`);
    io.exit(1);
  }
}

/** The mesh running in `stateDir` (relative to the command's working directory). */
export function runningMesh(io: CliIo, stateDir: string): RuntimeState {
  return readRuntimeState(resolve(io.cwd, stateDir));
}

/**
 * The pod `reference` names (findPod). Named by its Deployment, one of several pods: says which,
 * on stderr, as kubectl does ("Found 2 pods, using pod/…").
 */
export async function pickPod(
  io: CliIo,
  state: RuntimeState,
  reference: string,
): Promise<PodStatus> {
  const pods = await fetchPods(state);
  const pod = findPod(pods, reference);
  const siblings = pods.filter(
    (p) => p.deployment === pod.deployment && p.namespace === pod.namespace,
  );
  if (siblings.length > 1 && !reference.startsWith(pod.name))
    io.stderr(`Found ${siblings.length} pods, using pod/${pod.name}\n`);
  return pod;
}
