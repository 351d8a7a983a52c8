// `crema validate` (schema + Istio's validation rules) and `crema analyze` (plus the
// cross-resource analysis of `istioctl analyze`).
import { type Command, Option } from "commander";
import type { Severity } from "../../config/diagnostic.ts";
import { OUTPUT_FORMATS, type OutputFormat } from "../../config/format-diagnostics.ts";
import type { CliIo } from "../io.ts";
import type { CommandRegistrar } from "../main.ts";

interface CheckFlags {
  filename?: string[];
  recursive?: boolean;
  output: string;
  namespace?: string;
  failureThreshold: string;
  outputThreshold: string;
  color?: boolean;
}

function addCommonOptions(command: Command): Command {
  return command
    .option(
      "-f, --filename <path...>",
      "files or directories to read (also accepted as arguments); '-' reads stdin",
    )
    .option("-R, --recursive", "also read the folders inside the folders named")
    .addOption(
      new Option("-o, --output <format>", "output format").choices(OUTPUT_FORMATS).default("text"),
    )
    .option("--no-color", "plain text output without ANSI colours")
    .option(
      "--failure-threshold <severity>",
      "lowest severity that fails the run (Info, Warning, Error)",
      "Error",
    )
    .option(
      "--output-threshold <severity>",
      "lowest severity printed (Info, Warning, Error)",
      "Info",
    );
}

async function run(paths: string[], flags: CheckFlags, analyze: boolean, io: CliIo): Promise<void> {
  // Loaded here, so that every other command skips the validators and analyzers.
  const { EXIT, parseSeverity, runConfigCheck } = await import("../config-check.ts");
  const all = [...paths, ...(flags.filename ?? [])];
  if (all.length === 0) {
    io.stderr("crema: no input: name files or directories to check (or '-' for stdin)\n");
    io.exit(EXIT.usage);
    return;
  }
  const failureThreshold = parseSeverity(flags.failureThreshold);
  const outputThreshold = parseSeverity(flags.outputThreshold);
  if (!failureThreshold || !outputThreshold) {
    io.stderr("crema: thresholds are one of Info, Warning, Error\n");
    io.exit(EXIT.usage);
    return;
  }
  const code = await runConfigCheck(
    {
      paths: all,
      recursive: flags.recursive === true,
      analyze,
      output: flags.output as OutputFormat,
      ...(flags.namespace ? { defaultNamespace: flags.namespace } : {}),
      ...(flags.namespace && analyze ? { reportNamespace: flags.namespace } : {}),
      failureThreshold: failureThreshold as Severity,
      outputThreshold: outputThreshold as Severity,
      color: flags.color !== false && Boolean(process.stdout.isTTY) && !io.env.NO_COLOR,
    },
    io,
  );
  io.exit(code);
}

export const registerValidateCommand: CommandRegistrar = (program, io) => {
  addCommonOptions(
    program
      .command("validate")
      .argument("[paths...]", "YAML/JSON files or directories")
      .description(
        "Check Istio and Kubernetes resources against their schema and Istio's validation rules",
      ),
  )
    .option("-n, --namespace <name>", "namespace for resources that name none")
    .action((paths: string[], flags: CheckFlags) => run(paths, flags, false, io));
};

export const registerAnalyzeCommand: CommandRegistrar = (program, io) => {
  addCommonOptions(
    program
      .command("analyze")
      .argument("[paths...]", "YAML/JSON files or directories")
      .description("Validate resources and find problems across them, like istioctl analyze"),
  )
    .option(
      "-n, --namespace <name>",
      "report only this namespace (and use it for resources that name none)",
    )
    .option("-A, --all-namespaces", "report every namespace (the default for files)")
    .action((paths: string[], flags: CheckFlags) => run(paths, flags, true, io));
};
