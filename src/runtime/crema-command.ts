// How the local runtime runs crema itself: the runtime process (`crema up --detach` starts it),
// sidecars, gateways and the `crema` on pods' PATH run the CLI bundle from its cache, under a
// lease for the mesh's state dir, or bin/crema.js when no bundle can be made.
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../base/logger.ts";
import { prepareCliBundle, releaseCliBundleLeases } from "./cli-bundle.ts";
import { runtimeRunning } from "./runtime-state.ts";

/** The CLI module: run.ts in the sources, run.js in dist/. */
const CLI_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith(".ts") ? "../cli/run.ts" : "../cli/run.js", import.meta.url),
);
const BIN_ENTRY = fileURLToPath(new URL("../../bin/crema.js", import.meta.url));

/** Bundles are kept with the packages they import when there is a node_modules to keep them in. */
function cliBundleCacheDir(): string {
  const modules = fileURLToPath(new URL("../../node_modules", import.meta.url));
  return existsSync(modules)
    ? join(modules, ".cache", "crema", "cli-bundle")
    : join(tmpdir(), `crema-${process.getuid?.() ?? "user"}`, "cli-bundle");
}

/**
 * Node's on-disk compile cache for crema's processes and the pods' apps: the user's
 * NODE_COMPILE_CACHE, else the folder `module.enableCompileCache()` (bin/crema.js) picks itself,
 * so that processes started from the bundle share one cache with those started from bin/crema.js.
 */
export function nodeCompileCacheDir(env: NodeJS.ProcessEnv): string {
  return env.NODE_COMPILE_CACHE ?? join(tmpdir(), "node-compile-cache");
}

/** argv prefix (node and script) that runs crema's CLI for the mesh of `stateDir`. */
export async function cremaCommand(stateDir: string, logger: Logger): Promise<string[]> {
  try {
    const entry = await prepareCliBundle({
      entry: CLI_ENTRY,
      cacheDir: cliBundleCacheDir(),
      stateDir,
      isLeaseLive: runtimeRunning,
    });
    return [process.execPath, entry];
  } catch (error) {
    logger.warn({ err: error }, "crema's processes start from the unbundled modules (slower)");
    return [process.execPath, BIN_ENTRY];
  }
}

/** After the mesh of `stateDir` stopped: its bundle may be pruned again. */
export function releaseCliBundle(stateDir: string): void {
  releaseCliBundleLeases(cliBundleCacheDir(), stateDir);
  // Where meshes started by earlier versions ran their own copy of the bundle.
  rmSync(join(stateDir, "cli-bundle"), { recursive: true, force: true });
}
