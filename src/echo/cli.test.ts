// `crema echo` as a real process: readiness line, a request, SIGTERM drain and exit code 0.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { h1, json, rawConnect, readAll } from "./test-support.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = new URL("../cli/main.ts", import.meta.url);
const wired = readFileSync(MAIN, "utf8").includes("registerEchoCommand");

/**
 * Runs `crema echo` through buildProgram with only the echo command registered, so the command
 * is tested as a process (signals, readiness line, exit code) before main.ts lists it.
 */
const HARNESS = [
  `import { buildProgram } from ${JSON.stringify(MAIN.href)};`,
  `import { processIo } from ${JSON.stringify(new URL("../cli/io.ts", import.meta.url).href)};`,
  `import { registerEchoCommand } from ${JSON.stringify(new URL("../cli/commands/echo.ts", import.meta.url).href)};`,
  "const io = processIo();",
  "await buildProgram(io, [registerEchoCommand]).parseAsync(process.argv.slice(1), { from: 'user' });",
  "process.exitCode = io.exitCode();",
].join("\n");

interface Ready {
  child: ChildProcess;
  line: string;
  ports: Record<string, number>;
  stderr: () => string;
}

/** Spawns the command and resolves once it printed its readiness line. */
async function spawnEcho(args: string[]): Promise<Ready> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CREMA_LOG_LEVEL: "warn", PORT: "", HOST: "" },
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let stdout = "";
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const ready = stdout.split("\n").find((l) => l.startsWith("echo listening "));
      if (ready) resolve(ready);
    });
    child.once("exit", (code) =>
      reject(new Error(`echo exited (${code}) before it was ready:\n${stdout}\n${stderr}`)),
    );
  });
  const ports: Record<string, number> = {};
  for (const [, name, port] of line.matchAll(/(\w+)=[^ ]*:(\d+)/g)) ports[name!] = Number(port);
  return { child, line, ports, stderr: () => stderr };
}

async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = await once(child, "exit");
  return code as number | null;
}

const ECHO_ARGS = ["echo", "--port", "0", "--host", "127.0.0.1", "--pod", "cli-pod"];

describe("crema echo as a process", () => {
  it("prints the readiness line, serves, and exits 0 on SIGTERM", async () => {
    const echo = await spawnEcho([
      "--input-type=module",
      "-e",
      HARNESS,
      ...ECHO_ARGS,
      "--grpc-port",
      "0",
      "--tcp-port",
      "0",
      "--label",
      "app=cli",
    ]);
    expect(echo.line).toMatch(
      /^echo listening http=127\.0\.0\.1:\d+ grpc=127\.0\.0\.1:\d+ tcp=127\.0\.0\.1:\d+$/,
    );
    const reply = await h1(echo.ports.http!, "/");
    expect(reply.headers["x-crema-pod"]).toBe("cli-pod");
    expect(json(reply).labels).toEqual({ app: "cli" });
    const tcp = await rawConnect(echo.ports.tcp!);
    const echoed = readAll(tcp);
    tcp.end("over tcp");
    expect((await echoed).toString()).toBe("over tcp");
    echo.child.kill("SIGTERM");
    expect(await exitCode(echo.child)).toBe(0);
  });

  it("finishes an in-flight request after SIGTERM before exiting", async () => {
    const echo = await spawnEcho(["--input-type=module", "-e", HARNESS, ...ECHO_ARGS]);
    const reply = await h1(echo.ports.http!, "/delay/200", {
      onContinue: () => echo.child.kill("SIGTERM"),
    });
    expect(reply.status).toBe(200);
    expect(await exitCode(echo.child)).toBe(0);
  });

  it.skipIf(!wired)("runs from bin/crema.js (once main.ts registers it)", async () => {
    const echo = await spawnEcho(["bin/crema.js", ...ECHO_ARGS]);
    expect(echo.line).toMatch(/^echo listening http=127\.0\.0\.1:\d+$/);
    const reply = await h1(echo.ports.http!, "/ip");
    expect(json(reply)).toEqual({ origin: "127.0.0.1" });
    echo.child.kill("SIGTERM");
    expect(await exitCode(echo.child)).toBe(0);
  });

  it.skipIf(!wired)("exits 1 with a coded message for a bad flag", async () => {
    const child = spawn(process.execPath, ["bin/crema.js", "echo", "--port", "banana"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    expect(await exitCode(child)).toBe(1);
    expect(stderr).toContain("CREMA_ECHO_INVALID_OPTION");
  });
});
