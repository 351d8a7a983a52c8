// Reading configuration input: files, directories (recursively, .yaml/.yml/.json), and stdin.
// Unreadable, binary or oversized input becomes a diagnostic, never an exception.
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import type { Diagnostic } from "./diagnostic.ts";

export interface SourceFile {
  /** Path as given (or `<stdin>`), used in every diagnostic. */
  path: string;
  text: string;
}

export const MAX_FILE_BYTES = 16 * 1024 * 1024;
const CONFIG_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

export interface ReadResult {
  files: SourceFile[];
  diagnostics: Diagnostic[];
}

/** Decodes bytes as UTF-8 text, or explains why they are not configuration text. */
export function decodeSource(path: string, bytes: Uint8Array): SourceFile | Diagnostic {
  if (bytes.byteLength > MAX_FILE_BYTES) return tooLarge(path, bytes.byteLength);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return notText(path);
  }
  if (text.includes("\u0000")) return notText(path);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { path, text };
}

function tooLarge(path: string, size: number): Diagnostic {
  return {
    code: "CREMA_CONFIG_TOO_LARGE",
    severity: "error",
    message: `${path} is ${size} bytes; one configuration file may be at most ${MAX_FILE_BYTES} bytes (split it into several files)`,
    position: { file: path, line: 1, column: 1 },
  };
}

function notText(path: string): Diagnostic {
  return {
    code: "CREMA_CONFIG_NOT_TEXT",
    severity: "error",
    message: `${path} is not UTF-8 text (binary data?); pass YAML or JSON files only`,
    position: { file: path, line: 1, column: 1 },
  };
}

/** Reads files and directories (recursively); `-` means standard input. */
export interface ReadOptions {
  /** Also read the folders inside a folder (default true; the CLI defaults to false, as kubectl). */
  recursive?: boolean;
}

export async function readSources(
  paths: readonly string[],
  readStdin: () => Promise<string>,
  options: ReadOptions = {},
): Promise<ReadResult> {
  const recursive = options.recursive ?? true;
  const result: ReadResult = { files: [], diagnostics: [] };
  for (const path of paths) {
    if (path === "-") {
      const decoded = decodeSource("<stdin>", Buffer.from(await readStdin(), "utf8"));
      pushDecoded(result, decoded);
      continue;
    }
    await readPath(path, result, { explicit: true, descend: true, recursive });
  }
  return result;
}

interface ReadPathMode {
  /** Named by the user: read it whatever its extension. */
  explicit: boolean;
  /** A folder here is read (its files, and its folders when recursive). */
  descend: boolean;
  recursive: boolean;
}

async function readPath(path: string, result: ReadResult, mode: ReadPathMode): Promise<void> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) {
      if (!mode.descend) return;
      const entries = (await readdir(path)).sort();
      for (const entry of entries) {
        if (entry.startsWith(".")) continue;
        await readPath(join(path, entry), result, {
          explicit: false,
          descend: mode.recursive,
          recursive: mode.recursive,
        });
      }
      return;
    }
    if (!mode.explicit && !CONFIG_EXTENSIONS.has(extname(path).toLowerCase())) return;
    if (info.size > MAX_FILE_BYTES) {
      result.diagnostics.push(tooLarge(path, info.size));
      return;
    }
    pushDecoded(result, decodeSource(path, await readFile(path)));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    result.diagnostics.push({
      code: "CREMA_CONFIG_READ_FAILED",
      severity: "error",
      message: `cannot read ${path} (${reason}); check that it exists and is readable`,
      position: { file: path, line: 1, column: 1 },
    });
  }
}

function pushDecoded(result: ReadResult, decoded: SourceFile | Diagnostic): void {
  if ("text" in decoded) result.files.push(decoded);
  else result.diagnostics.push(decoded);
}
