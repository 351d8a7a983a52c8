// The `crema` command: builds the commander program from one register function per command.
import { Command, CommanderError } from "commander";
import { describeError } from "../base/errors.ts";
import { type CliIo, processIo } from "./io.ts";

export type CommandRegistrar = (program: Command, io: CliIo) => void;

/**
 * Each command's module, by the names it registers. A run loads only the module of the command
 * it runs: every sidecar of a local mesh is a `crema proxy`, and loading the other commands
 * (configuration analysis, the runtime, the tables of proxy-config) would be a good part of its
 * start-up. Help, `--version` and unknown commands load them all.
 */
const COMMAND_MODULES: ReadonlyArray<{
  names: readonly string[];
  load: () => Promise<readonly CommandRegistrar[]>;
}> = [
  {
    names: ["validate", "analyze"],
    load: async () => {
      const m = await import("./commands/config-commands.ts");
      return [m.registerValidateCommand, m.registerAnalyzeCommand];
    },
  },
  {
    names: ["control-plane"],
    load: async () => [(await import("./commands/control-plane.ts")).registerControlPlaneCommand],
  },
  { names: ["echo"], load: async () => [(await import("./commands/echo.ts")).registerEchoCommand] },
  {
    names: ["proxy"],
    load: async () => [(await import("./commands/proxy.ts")).registerProxyCommand],
  },
  {
    names: ["up", "demo"],
    load: async () => [(await import("./commands/up.ts")).registerUpCommand],
  },
  { names: ["down"], load: async () => [(await import("./commands/down.ts")).registerDownCommand] },
  {
    names: ["status"],
    load: async () => [(await import("./commands/status.ts")).registerStatusCommand],
  },
  {
    names: ["apply", "delete"],
    load: async () => [(await import("./commands/apply.ts")).registerApplyCommands],
  },
  { names: ["exec"], load: async () => [(await import("./commands/exec.ts")).registerExecCommand] },
  { names: ["logs"], load: async () => [(await import("./commands/logs.ts")).registerLogsCommand] },
  {
    names: ["proxy-status", "ps"],
    load: async () => [(await import("./commands/proxy-status.ts")).registerProxyStatusCommand],
  },
  {
    names: ["proxy-config", "pc"],
    load: async () => [(await import("./commands/proxy-config.ts")).registerProxyConfigCommand],
  },
];

/** The registrars `argv` needs: its command's alone when its first word names one, else all. */
async function registrarsFor(argv: readonly string[]): Promise<CommandRegistrar[]> {
  const named = COMMAND_MODULES.find((c) => c.names.includes(argv[0] ?? ""));
  const modules = named ? [named] : COMMAND_MODULES;
  return (await Promise.all(modules.map((c) => c.load()))).flat();
}

export function buildProgram(io: CliIo, commands: readonly CommandRegistrar[]): Command {
  const program = new Command("crema")
    .description("A service mesh that speaks Istio's configuration")
    .version("0.1.0")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const register of commands) register(program, io);
  return program;
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: string[], io = processIo()): Promise<number> {
  const program = buildProgram(io, await registrarsFor(argv));
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    // Help and --version exit 0; every other commander error is a usage error.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    io.stderr(`crema: ${describeError(error)}\n`);
    return 1;
  }
  return io.exitCode();
}
