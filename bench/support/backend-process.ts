// Starts one of the benchmark's backends (http-backend.ts, h2-backend.ts, grpc-backend.ts) in its
// own process on `host:port`, resolved once it prints that it listens.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export function startBackendProcess(
  script: string,
  host: string,
  port = 8080,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script, host, String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("backend listening")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`${script} on ${host} exited with ${code}`)));
  });
}
