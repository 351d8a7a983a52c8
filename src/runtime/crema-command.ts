// How the local runtime runs crema itself: the runtime process (`crema up --detach` starts it),
// sidecars, gateways and the `crema` on pods' PATH run the mesh's copy of the CLI bundle, or
// bin/crema.js when no bundle can be made.
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../base/logger.ts";
import { prepareCliBundle } from "./cli-bundle.ts";

/** The CLI module: run.ts in the sources, run.js in dist/. */
const CLI_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith(".ts") ? "../cli/run.ts" : "../cli/run.js", import.meta.url),
);
const BIN_ENTRY = fileURLToPath(new URL("../../bin/crema.js", import.meta.url));

/** Where the mesh of `stateDir` keeps its copies of the bundle (`crema down` removes them). */
export function cliBundleCopiesDir(stateDir: string): string {
  return join(stateDir, "cli-bundle");
}

/** Bundles are kept with the packages they import when there is a node_modules to keep them in. */
function cliBundleCacheDir(): string {
  const modules = fileURLToPath(new URL("../../node_modules", import.meta.url));
  return existsSync(modules)
    ? join(modules, ".cache", "crema", "cli-bundle")
    : join(tmpdir(), `crema-${process.getuid?.() ?? "user"}`, "cli-bundle");
}

/** argv prefix (node and script) that runs crema's CLI for the mesh of `stateDir`. */
export async function cremaCommand(stateDir: string, logger: Logger): Promise<string[]> {
  try {
    const entry = await prepareCliBundle({
      entry: CLI_ENTRY,
      cacheDir: cliBundleCacheDir(),
      copiesDir: cliBundleCopiesDir(stateDir),
    });
    return [process.execPath, entry];
  } catch (error) {
    logger.warn({ err: error }, "crema's processes start from the unbundled modules (slower)");
    return [process.execPath, BIN_ENTRY];
  }
}
