// crema's CLI as one bundle of its own modules, for the processes the local runtime starts. A
// sidecar loads some 250 of crema's modules, and resolving and linking them one by one is a
// large part of its start-up, which ten sidecars starting at once pay ten times over. Packages
// that find files next to themselves stay outside the bundle, each imported from the file Node
// itself would load; plain-code ones come inside (BUNDLED_PACKAGES). Bundles are kept between
// runs (content-addressed, and rebuilt when a file they were built from changes), and every mesh
// runs straight from the cache: Node's compile cache is keyed by a module's path, so one stable
// path per bundle keeps it warm for every mesh and every run after the first. A mesh holds a
// lease on the bundle it runs (a file naming its state dir, under `<cacheDir>/leases/<bundle>/`)
// and pruning skips a bundle while any of its leases is live, so a rebuild never removes what a
// running mesh still loads. `crema up --detach` starts the runtime itself from the bundle, and
// the runtime, finding the same bundle, starts its pods from the same path.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { CremaError, describeError } from "../base/errors.ts";

export interface CliBundleOptions {
  /** The CLI's entry module: src/cli/run.ts, or dist/cli/run.js in a build. */
  entry: string;
  /** Where bundles are kept between runs. */
  cacheDir: string;
  /** The state dir of the mesh that will run the bundle: it takes a lease on it. */
  stateDir: string;
  /** Packages to bundle instead of BUNDLED_PACKAGES (tests). */
  bundledPackages?: readonly string[];
  /** Whether a mesh still runs in `stateDir`, the state dir of a lease; while one does, its
   * bundle is not pruned. */
  isLeaseLive: (stateDir: string) => boolean;
}

/** A file the bundle was built from, as last seen: path, size, modification time. */
type InputStamp = [path: string, size: number, mtimeMs: number];

interface Manifest {
  bundle: string;
  inputs: InputStamp[];
}

/** `import.meta.url`, `.filename` and `.dirname` in code, not inside a quoted string. */
const OWN_MODULE_META = /(?<!["'`])\bimport\.meta\.(url|filename|dirname)\b(?!["'`])/g;
/** CommonJS's `__dirname` and `__filename`, likewise. */
const OWN_MODULE_PATH = /(?<!["'`.\w$])\b__(dirname|filename)\b(?!["'`\w$])/g;
/**
 * Packages bundled with crema's modules (a name, or a scope ending in "/"): loading a package's
 * files one by one through Node's resolver costs a sidecar more CPU than anything else it does at
 * start-up. Where one finds a file next to itself (grpc-js's and thread-stream's `__dirname`),
 * the bundle keeps pointing it at its own folder. Not bundled: re2-wasm (its .wasm file, loaded
 * on the first regex that needs it), packages crema loads by name only when a feature needs them
 * (OpenTelemetry's SDK and exporters), and those a local mesh never loads. pino's transports
 * (`pino.transport()`, which crema does not use) would resolve their targets from the bundle.
 */
const BUNDLED_PACKAGES = [
  "@grpc/grpc-js",
  "@js-sdsl/ordered-map",
  "@marcbachmann/cel-js",
  "@opentelemetry/api",
  "@peculiar/",
  "@pinojs/",
  "asn1js",
  "atomic-sleep",
  "bintrees",
  "commander",
  "jose",
  "long",
  "on-exit-leak-free",
  "pino",
  "pino-abstract-transport",
  "pino-std-serializers",
  "process-warning",
  "prom-client",
  "protobufjs",
  "pvtsutils",
  "pvutils",
  "quick-format-unescaped",
  "real-require",
  "reflect-metadata",
  "safe-stable-stringify",
  "sonic-boom",
  "tdigest",
  "thread-stream",
  "tslib",
  "tsyringe",
  "yaml",
];

function isBundled(file: string, packages: readonly string[]): boolean {
  return packages.some((name) =>
    file.includes(`/node_modules/${name.endsWith("/") ? name : `${name}/`}`),
  );
}

/** Bundles older than this, other than the latest, are removed unless a mesh holds a live lease
 * on them (a concurrent start may still be about to record its lease on a recent one). Leases
 * younger than this count as live: their mesh may still be starting, with no runtime.json yet. */
const PRUNE_AFTER_MS = 10 * 60_000;
const LEASES_DIR = "leases";
/** A bundle's or a lease's name: the start of a hash. */
const HASH_NAME = /^[0-9a-f]{16}$/;

/** The entry file of an up-to-date bundle of `entry` (built if needed), leased to the mesh of
 * `stateDir`. Throws CREMA_RUNTIME_BUNDLE when it cannot. */
export async function prepareCliBundle(options: CliBundleOptions): Promise<string> {
  try {
    mkdirSync(options.cacheDir, { recursive: true });
    let bundle = reusableBundle(options.cacheDir, options.entry);
    if (bundle !== undefined) {
      recordLease(options.cacheDir, bundle, options.stateDir);
      // A prune that ran before the lease was written may have taken it.
      if (!existsSync(join(options.cacheDir, bundle))) bundle = undefined;
    }
    bundle ??= await buildBundle(options);
    return join(options.cacheDir, bundle, entryFileName(options.entry));
  } catch (error) {
    throw new CremaError(
      "CREMA_RUNTIME_BUNDLE",
      `cannot bundle ${options.entry} into ${options.cacheDir}: ${stripVTControlCharacters(describeError(error))}`,
    );
  }
}

/** Drops the leases the mesh of `stateDir` holds on any bundle in `cacheDir` (it has stopped). */
export function releaseCliBundleLeases(cacheDir: string, stateDir: string): void {
  const name = leaseName(stateDir);
  for (const bundle of listDir(join(cacheDir, LEASES_DIR))) {
    rmSync(join(cacheDir, LEASES_DIR, bundle, name), { force: true });
    removeIfEmpty(join(cacheDir, LEASES_DIR, bundle));
  }
}

/** One file per state dir and bundle, named after the state dir's hash, holding its path. */
function leaseName(stateDir: string): string {
  return createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 16);
}

function recordLease(cacheDir: string, bundle: string, stateDir: string): void {
  const dir = join(cacheDir, LEASES_DIR, bundle);
  for (let attempt = 1; ; attempt++) {
    mkdirSync(dir, { recursive: true });
    try {
      // Rewritten on every start, so the lease is young again while this mesh starts.
      writeAtomically(join(dir, leaseName(stateDir)), resolve(stateDir));
      return;
    } catch (error) {
      // A concurrent prune removed the folder while it was still empty.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt === 3) throw error;
    }
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty (a mesh holds a lease), or already gone.
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

async function buildBundle(options: CliBundleOptions): Promise<string> {
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
          if (isBundled(resolved.id, options.bundledPackages ?? BUNDLED_PACKAGES)) {
            return resolved.id;
          }
          externals.add(resolved.id);
          return { id: pathToFileURL(resolved.id).href, external: true };
        },
      },
      {
        // The bundle lives elsewhere than the modules it holds: their own URL or path keeps
        // pointing at the files next to them (.proto files, package.json, worker scripts).
        name: "crema-own-module-location",
        transform(code, id) {
          const meta = code.includes("import.meta.");
          const path = id.includes("/node_modules/") && /\b__(dirname|filename)\b/.test(code);
          if (!meta && !path) return null;
          const values: Record<string, string> = {
            url: pathToFileURL(id).href,
            filename: id,
            dirname: dirname(id),
          };
          const own = (_: string, key: string) => JSON.stringify(values[key]);
          const withMeta = meta ? code.replace(OWN_MODULE_META, own) : code;
          return path ? withMeta.replace(OWN_MODULE_PATH, own) : withMeta;
        },
      },
    ],
  });
  const staging = join(options.cacheDir, `.building-${process.pid}-${Date.now()}`);
  try {
    await build.write({ dir: staging, format: "esm", entryFileNames: "[name].js" });
    // Under node_modules no package.json of crema's says these .js files are ES modules, and Node
    // would otherwise parse each one to find out.
    writeFileSync(join(staging, "package.json"), `${JSON.stringify({ type: "module" })}\n`);
    const inputs = [...(await build.watchFiles), ...externals].flatMap((path) => {
      const seen = stamp(path);
      return seen ? [seen] : [];
    });
    const name = contentHash(staging);
    publish(options.cacheDir, staging, name);
    recordLease(options.cacheDir, name, options.stateDir);
    writeAtomically(
      manifestFile(options.cacheDir, options.entry),
      JSON.stringify({ bundle: name, inputs } satisfies Manifest),
    );
    prune(options.cacheDir, name, options.isLeaseLive);
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

/**
 * Removes stale leases (older than PRUNE_AFTER_MS and no longer live), then every bundle other
 * than `keep` that is older than that and has no lease left. A lease outlives its mesh only when
 * the mesh stopped without `crema down` (a foreground `crema up`, a crash).
 */
function prune(cacheDir: string, keep: string, isLeaseLive: (stateDir: string) => boolean): void {
  const cutoff = Date.now() - PRUNE_AFTER_MS;
  const old = (path: string) => (stamp(path)?.[2] ?? 0) < cutoff;
  const leasesDir = join(cacheDir, LEASES_DIR);
  const leased = new Set<string>();
  for (const bundle of listDir(leasesDir)) {
    const dir = join(leasesDir, bundle);
    for (const lease of listDir(dir)) {
      const file = join(dir, lease);
      if (!old(file)) continue;
      let stateDir: string | undefined;
      try {
        stateDir = readFileSync(file, "utf8");
      } catch {
        continue;
      }
      // Anything else here is a write that never finished.
      if (!HASH_NAME.test(lease) || !isLeaseLive(stateDir)) rmSync(file, { force: true });
    }
    removeIfEmpty(dir);
    if (existsSync(dir)) leased.add(bundle);
  }
  for (const entry of readdirSync(cacheDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === LEASES_DIR || entry.name === keep) continue;
    if (leased.has(entry.name)) continue;
    const path = join(cacheDir, entry.name);
    if (old(path)) rmSync(path, { recursive: true, force: true });
  }
}
