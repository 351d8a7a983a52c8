// `crema down`: stops the local mesh of a state directory — the runtime stops its pods, then
// anything it left behind (its recorded process ids) is killed, so no process or port remains.
import { readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { processAlive } from "../../base/process-alive.ts";
import { releaseCliBundle } from "../../runtime/crema-command.ts";
import { RUNTIME_FILE, readRuntimeState } from "../../runtime/runtime-state.ts";
import type { CommandRegistrar } from "../main.ts";
import { reportErrors, stateDirOption } from "../runtime-io.ts";

const STOP_WAIT_MS = 30_000;
const POLL_MS = 100;

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}

/** Kills the process groups the runtime recorded and that still run (after a runtime crash). */
function killLeftovers(stateDir: string): number {
  let pids: number[] = [];
  try {
    pids = JSON.parse(readFileSync(join(stateDir, "pids.json"), "utf8")) as number[];
  } catch {
    return 0;
  }
  let killed = 0;
  // Each pid leads its container's process group: a group whose leader has exited may still hold
  // what the container started, so the group is signalled whatever its leader's state.
  for (const pid of pids) {
    try {
      process.kill(-pid, "SIGKILL");
      killed++;
    } catch {
      // Already gone.
    }
  }
  return killed;
}

export const registerDownCommand: CommandRegistrar = (program, io) => {
  program
    .command("down")
    .description("Stop the local mesh and every process it started")
    .addOption(stateDirOption())
    .action((flags: { stateDir: string }) =>
      reportErrors(io, async () => {
        const stateDir = resolve(io.cwd, flags.stateDir);
        let stopped = false;
        try {
          const state = readRuntimeState(stateDir);
          process.kill(state.pid, "SIGTERM");
          if (!(await waitForExit(state.pid, STOP_WAIT_MS))) process.kill(state.pid, "SIGKILL");
          stopped = true;
        } catch (error) {
          if ((error as { code?: string }).code !== "CREMA_RUNTIME_NOT_RUNNING") throw error;
        }
        const leftovers = killLeftovers(stateDir);
        rmSync(join(stateDir, RUNTIME_FILE), { force: true });
        rmSync(join(stateDir, "pids.json"), { force: true });
        releaseCliBundle(stateDir);
        io.stdout(
          stopped
            ? `local mesh stopped${leftovers ? ` (${leftovers} leftover processes killed)` : ""}\n`
            : `no local mesh was running in ${flags.stateDir}${leftovers ? `; killed ${leftovers} leftover processes` : ""}\n`,
        );
      }),
    );
};
