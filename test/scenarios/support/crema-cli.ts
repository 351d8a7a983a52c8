// The crema CLI as a user's shell runs it: a child process of `bin/crema.js`, for the tests that
// drive the local runtime (`crema up`, `exec`, `apply` …) end to end.
import { execFile } from "node:child_process";
import { readRuntimeState } from "../../../src/runtime/runtime-state.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `crema ARGS`. With `stateDir`, the command gets `--state-dir` — for `exec` before its
 * `-- CMD…`, which must end the arguments.
 */
export function runCrema(args: readonly string[], stateDir?: string): Promise<CliRun> {
  const state = stateDir ? ["--state-dir", stateDir] : [];
  const argv = args[0] === "exec" ? ["exec", ...state, ...args.slice(1)] : [...args, ...state];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["bin/crema.js", ...argv],
      { env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Whether the local mesh of `stateDir` is ready and synced, as `crema up --detach` waits for it:
 * every pod ready, no change waiting for its push, and every proxy has ACKed what it was sent.
 * Right after a `crema apply` it is false until the push the change caused has been ACKed.
 */
export async function meshSynced(stateDir: string): Promise<boolean> {
  return (await fetch(`${readRuntimeState(stateDir).apiUrl}/ready`)).ok;
}

/**
 * `crema up` flags that keep a test's mesh to itself: host ports the system picks, and pods on
 * the test's own loopback /16.
 */
export function ownAddresses(podCidr: string): string[] {
  return ["--ingress-port", "0", "--ingress-tls-port", "0", "--pod-cidr", podCidr];
}
