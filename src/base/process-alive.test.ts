import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { processAlive } from "./process-alive.ts";

const stateOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2)[0];
};

describe("processAlive", () => {
  it("is true for this process and false for a process id that names none", () => {
    expect(processAlive(process.pid)).toBe(true);
    // Above Linux's pid_max (2^22), so never a process.
    expect(processAlive(2 ** 22 + 1)).toBe(false);
  });

  it.skipIf(!existsSync("/proc/self/stat"))(
    "is false for a zombie, which still answers signal 0",
    async () => {
      // `sleep 0` exits at once; its parent, exec'd into a long sleep, never reaps it.
      const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 30"], {
        stdio: ["ignore", "pipe", "ignore"],
      });
      try {
        const line = await new Promise<string>((resolve) =>
          createInterface({ input: parent.stdout! }).once("line", resolve),
        );
        const zombie = Number(line);
        while (stateOf(zombie) !== "Z") await new Promise((r) => setImmediate(r));
        expect(() => process.kill(zombie, 0)).not.toThrow();
        expect(processAlive(zombie)).toBe(false);
        expect(processAlive(parent.pid!)).toBe(true);
      } finally {
        parent.kill("SIGKILL");
      }
    },
  );
});
