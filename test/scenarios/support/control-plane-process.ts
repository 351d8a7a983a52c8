// Starts the real `crema control-plane` as a child process for scenario tests and waits for
// its readiness line; collects its stderr so tests can wait for log lines.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface ControlPlaneProcess {
  xdsAddress: string;
  /** The CA's CSR API and xDS over TLS, when started with --ca-dir. */
  secureXdsAddress: string | undefined;
  httpUrl: string;
  /** The last 20 kB of its stderr (for failure messages). */
  logs(): string;
  /** Resolves with the first stderr line that contains `text` (from now on). */
  waitForLog(text: string): Promise<string>;
  stop(): Promise<number | null>;
}

export async function startControlPlaneProcess(args: string[]): Promise<ControlPlaneProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "bin/crema.js",
      "control-plane",
      "--xds-address",
      "127.0.0.1:0",
      "--http-address",
      "127.0.0.1:0",
      ...args,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CREMA_LOG_LEVEL: "info" } },
  );
  const waiters: Array<{ text: string; resolve: (line: string) => void }> = [];
  let stderrTail = "";
  createInterface({ input: child.stderr! }).on("line", (line) => {
    stderrTail = `${stderrTail}${line}\n`.slice(-20_000);
    for (const waiter of [...waiters]) {
      if (line.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const ready = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("control-plane ready")) resolve(line);
    });
    void exited.then((code) =>
      reject(new Error(`control plane exited with ${code} before ready:\n${stderrTail}`)),
    );
  });
  const xdsAddress = /xds=(\S+)/.exec(ready)![1]!;
  const httpUrl = /http=(\S+)/.exec(ready)![1]!;
  const secureXdsAddress = /secure-xds=(\S+)/.exec(ready)?.[1];
  return {
    xdsAddress,
    secureXdsAddress,
    httpUrl,
    logs: () => stderrTail,
    waitForLog: (text) => new Promise((resolve) => waiters.push({ text, resolve })),
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      // Its own shutdown is bounded (5 s for streams, 5 s for connections): one that is not
      // over long after is a bug to see, not a hook to time out, so it is shown and killed.
      const overdue = setTimeout(() => {
        console.error(
          `control plane still running 20 s after SIGTERM; its last output:\n${stderrTail}`,
        );
        child.kill("SIGKILL");
      }, 20_000);
      try {
        return await exited;
      } finally {
        clearTimeout(overdue);
      }
    },
  };
}

/**
 * Whether every proxy connected to the control plane at `httpUrl` has ACKed the last response of
 * every type it was sent (its /debug/syncz). A proxy with worker threads ACKs only once every
 * worker has applied the update, so this also says the workers have it.
 */
export async function everyProxyAcked(httpUrl: string): Promise<boolean> {
  const proxies = (await (await fetch(`${httpUrl}/debug/syncz`)).json()) as Array<{
    types: Array<{ lastSent?: { nonce: string }; lastAck?: { nonce: string } }>;
  }>;
  return proxies.every((proxy) =>
    proxy.types.every((t) => !t.lastSent || t.lastAck?.nonce === t.lastSent.nonce),
  );
}
