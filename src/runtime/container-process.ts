// One container of a local pod: a process started from its command line, its output appended to
// the container's log file (and handed on line by line), restarted with back-off whenever it
// exits (restartPolicy Always), and stopped with SIGTERM, then SIGKILL after a grace period.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import type { ContainerKind, ContainerStatus } from "./runtime-state.ts";

/** Kubernetes starts at 10 s and caps at 5 min; a laptop wants quicker retries. */
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
/** A run this long resets the back-off, as the kubelet does after a container ran fine for a while. */
const STABLE_RUN_MS = 60_000;

export interface ContainerProcessOptions {
  name: string;
  kind: ContainerKind;
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  /** Each line the container writes (stdout and stderr). */
  onLine?: (line: string) => void;
  /** Called when the process starts or exits. */
  onChange?: () => void;
}

export interface ContainerProcess {
  status(): ContainerStatus;
  /** Resolves once the process has exited (or at once when none runs); no restart after it. */
  stop(graceMs: number): Promise<void>;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exited with code ${code}`;
}

export function startContainerProcess(options: ContainerProcessOptions): ContainerProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log: WriteStream = createWriteStream(options.logFile, { flags: "a" });
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let restarts = 0;
  let lastExit: string | undefined;
  let backoffMs = FIRST_BACKOFF_MS;
  let restartTimer: NodeJS.Timeout | undefined;
  let stopping = false;

  const write = (line: string) => {
    log.write(`${line}\n`);
    options.onLine?.(line);
  };

  const run = () => {
    restartTimer = undefined;
    const startedAt = Date.now();
    const [command, ...args] = options.argv;
    const spawned = spawn(command!, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so stopping it also stops what a shell command started.
      detached: true,
    });
    child = spawned;
    for (const stream of [spawned.stdout, spawned.stderr]) {
      createInterface({ input: stream! }).on("line", write);
    }
    exited = new Promise((resolve) => {
      let done = false;
      const finish = (why: string) => {
        if (done) return;
        done = true;
        child = undefined;
        lastExit = why;
        if (!stopping) {
          write(`[crema] container ${options.name} ${why}; restarting in ${backoffMs / 1000}s`);
          if (Date.now() - startedAt >= STABLE_RUN_MS) backoffMs = FIRST_BACKOFF_MS;
          restarts++;
          restartTimer = setTimeout(run, backoffMs);
          backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
        }
        options.onChange?.();
        resolve();
      };
      spawned.once("error", (error: NodeJS.ErrnoException) =>
        finish(
          error.code === "ENOENT"
            ? `cannot start: command '${command}' not found (the local runtime runs 'command' on this machine)`
            : `cannot start: ${error.message}`,
        ),
      );
      spawned.once("close", (code, signal) => finish(describeExit(code, signal)));
    });
    options.onChange?.();
  };

  const signalGroup = (signal: NodeJS.Signals) => {
    const pid = child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      child?.kill(signal);
    }
  };

  run();
  return {
    status: () => ({
      name: options.name,
      kind: options.kind,
      ...(child?.pid !== undefined ? { pid: child.pid } : {}),
      running: child?.pid !== undefined && child.exitCode === null,
      restarts,
      logFile: options.logFile,
      ...(lastExit !== undefined ? { lastExit } : {}),
    }),
    async stop(graceMs) {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      signalGroup("SIGTERM");
      const kill = setTimeout(() => signalGroup("SIGKILL"), graceMs);
      await exited;
      clearTimeout(kill);
      await new Promise<void>((resolve) => log.end(resolve));
    },
  };
}
