// What a benchmarked process costs, from Linux's /proc: CPU time and RSS over its process tree
// (nginx serves from a worker under its master).
import { readFileSync } from "node:fs";

/** A process and its descendants. */
export function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .split(" ")
      .filter(Boolean)
      .map(Number);
  } catch {
    // Gone, or no children file on this kernel: the process alone.
  }
  return [pid, ...children.flatMap(processTree)];
}

/** utime + stime of a process tree, in seconds (100 ticks per second). */
export function cpuSeconds(pid: number): number {
  let total = 0;
  for (const member of processTree(pid)) {
    const stat = readFileSync(`/proc/${member}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return total;
}

/** The largest RSS in a process tree, MB. */
export function rssMb(pid: number): number {
  return Math.max(
    ...processTree(pid).map((member) => {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${member}/status`, "utf8"));
      return kb ? Number(kb[1]) / 1024 : 0;
    }),
  );
}
