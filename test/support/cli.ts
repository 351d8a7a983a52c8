// Runs the crema CLI in-process with captured output, as a user would see it.
import { main } from "../../src/cli/main.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], stdin = ""): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  let code = 0;
  const io = {
    stdout: (text: string) => {
      stdout += text;
    },
    stderr: (text: string) => {
      stderr += text;
    },
    readStdin: async () => stdin,
    cwd: process.cwd(),
    env: { NO_COLOR: "1" },
    exit: (value: number) => {
      code = value;
    },
    exitCode: () => code,
  };
  const result = await main(args, io);
  return { code: result, stdout, stderr };
}
