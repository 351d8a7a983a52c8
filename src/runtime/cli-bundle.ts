// crema's CLI as one bundle of its own modules, for the processes the local runtime starts. A
// sidecar loads some 250 of crema's modules, and resolving and linking them one by one is a
// large part of its start-up, which ten sidecars starting at once pay ten times over. Packages
// that find files next to themselves stay outside the bundle, each imported from the file Node
// itself would load; plain-code ones come inside (BUNDLED_PACKAGES). Bundles are kept between
// runs (content-addressed, and rebuilt when a file they were built from changes); each mesh
// starts from its own copy, so pruning the cache never touches what a running mesh loads. The
// copy is content-addressed as well: `crema up --detach` starts the runtime itself from the
// bundle, and the runtime, finding the same bundle, starts its pods from the same copy.
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { basename, dirname, extname, isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { CremaError, describeError } from "../base/errors.ts";

export interface CliBundleOptions {
  /** The CLI's entry module: src/cli/run.ts, or dist/cli/run.js in a build. */
  entry: string;
  /** Where bundles are kept between runs. */
  cacheDir: string;
  /** Where this mesh keeps its copies (`<state-dir>/cli-bundle`), one folder per bundle. */
  copiesDir: string;
}

/** A file the bundle was built from, as last seen: path, size, modification time. */
type InputStamp = [path: string, size: number, mtimeMs: number];

interface Manifest {
  bundle: string;
  inputs: InputStamp[];
}

/** `import.meta.url`, `.filename` and `.dirname` in code, not inside a quoted string. */
const OWN_MODULE_META = /(?<!["'`])\bimport\.meta\.(url|filename|dirname)\b(?!["'`])/g;
/**
 * Packages bundled with crema's modules: plain code that finds no file next to itself at run
 * time (no __dirname, require.resolve or import.meta). The others (grpc-js and protobufjs load
 * .proto files or modules by path, pino starts workers from files, re2-wasm reads its .wasm)
 * stay where they are.
 */
const BUNDLED_PACKAGES = [
  "@marcbachmann/cel-js",
  "@opentelemetry/api",
  "@peculiar/asn1-csr",
  "@peculiar/asn1-schema",
  "@peculiar/asn1-x509",
  "@peculiar/utils",
  "asn1js",
  "commander",
  "pvtsutils",
  "pvutils",
  "tslib",
];

/** Bundles older than this, other than the latest, are removed (a concurrent start may still be
 * copying a recent one). */
const PRUNE_AFTER_MS = 10 * 60_000;

/** The entry file of the mesh's copy of an up-to-date bundle of `entry` (built and copied if
 * needed). Throws CREMA_RUNTIME_BUNDLE when it cannot. */
export async function prepareCliBundle(options: CliBundleOptions): Promise<string> {
  try {
    mkdirSync(options.cacheDir, { recursive: true });
    const bundle = reusableBundle(options.cacheDir, options.entry) ?? (await buildBundle(options));
    const copy = join(options.copiesDir, bundle);
    if (!existsSync(copy)) {
      const staging = `${copy}.${process.pid}.tmp`;
      cpSync(join(options.cacheDir, bundle), staging, { recursive: true });
      renameSync(staging, copy);
    }
    return join(copy, entryFileName(options.entry));
  } catch (error) {
    throw new CremaError(
      "CREMA_RUNTIME_BUNDLE",
      `cannot bundle ${options.entry} into ${options.cacheDir}: ${stripVTControlCharacters(describeError(error))}`,
    );
  }
}

function entryFileName(entry: string): string {
  return `${basename(entry, extname(entry))}.js`;
}

/** The latest bundle of `entry` and what it was built from. */
function manifestFile(cacheDir: string, entry: string): string {
  return join(
    cacheDir,
    `latest-${createHash("sha256").update(entry).digest("hex").slice(0, 12)}.json`,
  );
}

function stamp(path: string): InputStamp | undefined {
  try {
    const stats = statSync(path);
    return [path, stats.size, stats.mtimeMs];
  } catch {
    return undefined;
  }
}

/** The latest bundle's directory name when every file it was built from is unchanged. */
function reusableBundle(cacheDir: string, entry: string): string | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile(cacheDir, entry), "utf8")) as Manifest;
  } catch {
    return undefined;
  }
  if (!existsSync(join(cacheDir, manifest.bundle))) return undefined;
  const unchanged = manifest.inputs.every(([path, size, mtimeMs]) => {
    const now = stamp(path);
    return now !== undefined && now[1] === size && now[2] === mtimeMs;
  });
  return unchanged ? manifest.bundle : undefined;
}

async function buildBundle(options: Pick<CliBundleOptions, "entry" | "cacheDir">): Promise<string> {
  const { rolldown } = await import("rolldown");
  const externals = new Set<string>();
  const build = await rolldown({
    input: options.entry,
    platform: "node",
    logLevel: "silent",
    plugins: [
      {
        name: "crema-packages-stay-external",
        async resolveId(source, importer, extra) {
          if (source.startsWith("node:") || builtinModules.includes(source))
            return { id: source, external: true };
          if (source.startsWith(".") || isAbsolute(source) || importer === undefined) return null;
          const resolved = await this.resolve(source, importer, { ...extra, skipSelf: true });
          if (!resolved) return null;
          if (BUNDLED_PACKAGES.some((name) => resolved.id.includes(`/node_modules/${name}/`)))
            return resolved.id;
          externals.add(resolved.id);
          return { id: pathToFileURL(resolved.id).href, external: true };
        },
      },
      {
        // The bundle lives elsewhere than the modules it holds: their own URL keeps pointing at
        // the files next to them (.proto files, package.json, the worker script).
        name: "crema-own-module-url",
        transform(code, id) {
          if (!code.includes("import.meta.")) return null;
          const values: Record<string, string> = {
            url: pathToFileURL(id).href,
            filename: id,
            dirname: dirname(id),
          };
          return code.replace(OWN_MODULE_META, (_, key: string) => JSON.stringify(values[key]));
        },
      },
    ],
  });
  const staging = join(options.cacheDir, `.building-${process.pid}-${Date.now()}`);
  try {
    await build.write({ dir: staging, format: "esm", entryFileNames: "[name].js" });
    const inputs = [...(await build.watchFiles), ...externals].flatMap((path) => {
      const seen = stamp(path);
      return seen ? [seen] : [];
    });
    const name = contentHash(staging);
    publish(options.cacheDir, staging, name);
    writeAtomically(
      manifestFile(options.cacheDir, options.entry),
      JSON.stringify({ bundle: name, inputs } satisfies Manifest),
    );
    prune(options.cacheDir, name);
    return name;
  } finally {
    await build.close();
    rmSync(staging, { recursive: true, force: true });
  }
}

function contentHash(dir: string): string {
  const hash = createHash("sha256");
  for (const file of readdirSync(dir).sort()) {
    hash
      .update(file)
      .update("\0")
      .update(readFileSync(join(dir, file)));
  }
  return hash.digest("hex").slice(0, 16);
}

/** Moves the staged bundle to its content-addressed name; another run may have got there first
 * with the same content. */
function publish(cacheDir: string, staging: string, name: string): void {
  const target = join(cacheDir, name);
  if (existsSync(target)) return;
  try {
    renameSync(staging, target);
  } catch (error) {
    if (!existsSync(target)) throw error;
  }
}

function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

function prune(cacheDir: string, keep: string): void {
  const cutoff = Date.now() - PRUNE_AFTER_MS;
  for (const entry of readdirSync(cacheDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === keep) continue;
    const path = join(cacheDir, entry.name);
    if ((stamp(path)?.[2] ?? 0) < cutoff) rmSync(path, { recursive: true, force: true });
  }
}
