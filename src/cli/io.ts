// What a CLI command may touch of the outside world, passed in so tests can run commands
// in-process and capture their output.
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Sets the process exit code the command ends with (last call wins). */
  exit: (code: number) => void;
}

export function processIo(): CliIo & { exitCode: () => number } {
  let code = 0;
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
    cwd: process.cwd(),
    env: process.env,
    exit: (value) => {
      code = value;
    },
    exitCode: () => code,
  };
}
