// Whether a process id still names a running process. A process that has exited but was not yet
// reaped (a zombie) still answers signal 0; it is not running. That matters where the parent of
// crema's detached runtime is an init that reaps late, or never (a container's PID 1 that is not
// an init): `crema down` would otherwise wait for a process that is already gone.
import { readFileSync } from "node:fs";

/** The state letter of /proc/<pid>/stat ("R", "S", "Z" …); undefined where /proc is not there. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state …": comm may hold spaces and parentheses, so read after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ", 1)[0];
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return procState(pid) !== "Z";
}
