// The `crema` command: builds the commander program from one register function per command.
import { Command, CommanderError } from "commander";
import { describeError } from "../base/errors.ts";
import { registerApplyCommands } from "./commands/apply.ts";
import { registerAnalyzeCommand, registerValidateCommand } from "./commands/config-commands.ts";
import { registerControlPlaneCommand } from "./commands/control-plane.ts";
import { registerDownCommand } from "./commands/down.ts";
import { registerEchoCommand } from "./commands/echo.ts";
import { registerExecCommand } from "./commands/exec.ts";
import { registerLogsCommand } from "./commands/logs.ts";
import { registerProxyCommand } from "./commands/proxy.ts";
import { registerProxyConfigCommand } from "./commands/proxy-config.ts";
import { registerProxyStatusCommand } from "./commands/proxy-status.ts";
import { registerStatusCommand } from "./commands/status.ts";
import { registerUpCommand } from "./commands/up.ts";
import { type CliIo, processIo } from "./io.ts";

export type CommandRegistrar = (program: Command, io: CliIo) => void;

const registrars: readonly CommandRegistrar[] = [
  registerValidateCommand,
  registerAnalyzeCommand,
  registerControlPlaneCommand,
  registerEchoCommand,
  registerProxyCommand,
  registerUpCommand,
  registerDownCommand,
  registerStatusCommand,
  registerApplyCommands,
  registerExecCommand,
  registerLogsCommand,
  registerProxyStatusCommand,
  registerProxyConfigCommand,
];

export function buildProgram(
  io: CliIo,
  commands: readonly CommandRegistrar[] = registrars,
): Command {
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
  const program = buildProgram(io);
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
