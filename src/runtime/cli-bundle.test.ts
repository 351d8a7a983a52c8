import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliBundleOptions, prepareCliBundle, releaseCliBundleLeases } from "./cli-bundle.ts";
import { RUNTIME_FILE, runtimeRunning } from "./runtime-state.ts";

let dir: string;
/** The first bundle's entry. */
let first: string;
const cacheDir = () => join(dir, "cache");
const bundles = (cache = cacheDir()) =>
  readdirSync(cache).filter((name) => !name.endsWith(".json") && name !== "leases");
/** The state dirs holding a lease on `bundle`. */
const leases = (cache: string, bundle: string) => {
  const leaseDir = join(cache, "leases", bundle);
  return existsSync(leaseDir)
    ? readdirSync(leaseDir).map((name) => readFileSync(join(leaseDir, name), "utf8"))
    : [];
};
const prepare = (options: Partial<CliBundleOptions> & Pick<CliBundleOptions, "stateDir">) =>
  prepareCliBundle({
    entry: join(dir, "entry.ts"),
    cacheDir: cacheDir(),
    isLeaseLive: () => false,
    ...options,
  });
const bundleOf = (entry: string) => entry.split("/").at(-2)!;
const run = (file: string, ...args: string[]) =>
  execFileSync(process.execPath, [file, ...args], { encoding: "utf8" });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "crema-cli-bundle-"));
  writeFileSync(
    join(dir, "entry.ts"),
    [
      'import { greeting } from "./greeting.ts";',
      'import { basename } from "node:path";',
      "const own = basename(new URL(import.meta.url).pathname);",
      'console.log(greeting(), own, "import.meta.url");',
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "greeting.ts"),
    [
      'import { readFileSync } from "node:fs";',
      'export const greeting = (): string => readFileSync(new URL("./word.txt", import.meta.url), "utf8");',
    ].join("\n"),
  );
  writeFileSync(join(dir, "word.txt"), "hello");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("prepareCliBundle", () => {
  it("bundles a module graph whose modules still see their own URL, and leases it to the mesh", async () => {
    const entry = await prepare({ stateDir: join(dir, "mesh-a") });
    first = entry;
    expect(entry).toMatch(new RegExp(`^${cacheDir()}/[0-9a-f]{16}/entry\\.js$`));
    expect(leases(cacheDir(), bundleOf(entry))).toEqual([join(dir, "mesh-a")]);
    // The asset is read next to greeting.ts, each module's URL is its source file's, and the
    // same words inside a string are left alone.
    expect(run(entry).trim()).toBe("hello entry.ts import.meta.url");
    expect(bundles()).toHaveLength(1);
    // Node reads the chunks as ES modules without parsing them to find out.
    expect(JSON.parse(readFileSync(join(dirname(entry), "package.json"), "utf8"))).toEqual({
      type: "module",
    });
  });

  it("bundles a CommonJS package that reads a file next to itself through __dirname", async () => {
    const packageDir = join(dir, "node_modules", "reads-beside");
    mkdirSync(packageDir, { recursive: true });
    writeFileSync(join(packageDir, "package.json"), JSON.stringify({ name: "reads-beside" }));
    writeFileSync(join(packageDir, "data.txt"), "beside");
    writeFileSync(
      join(packageDir, "index.js"),
      [
        'const { readFileSync } = require("node:fs");',
        'const { basename } = require("node:path");',
        'exports.data = () => readFileSync(__dirname + "/data.txt", "utf8");',
        'exports.own = () => basename(__filename) + " __dirname";',
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "uses-package.ts"),
      'import beside from "reads-beside";\nconsole.log(beside.data(), beside.own());\n',
    );
    const entry = await prepare({
      entry: join(dir, "uses-package.ts"),
      cacheDir: join(dir, "package-cache"),
      stateDir: join(dir, "mesh-package"),
      bundledPackages: ["reads-beside"],
    });
    // Inside the bundle (no import of the package is left), yet reading from its own folder.
    expect(readFileSync(entry, "utf8")).not.toMatch(/from ["'][^"']*reads-beside/);
    expect(run(entry).trim()).toBe("beside index.js __dirname");
  });

  it("reuses the bundle while its files are unchanged, and rebuilds when one changes", async () => {
    const manifest = join(cacheDir(), readdirSync(cacheDir()).find((n) => n.endsWith(".json"))!);
    const before = statSync(manifest).mtimeMs;
    // Another mesh runs the same file, so Node's compile cache (keyed by path) is shared.
    const again = await prepare({ stateDir: join(dir, "mesh-b") });
    expect(again).toBe(first);
    expect(run(again).trim()).toBe("hello entry.ts import.meta.url");
    expect(statSync(manifest).mtimeMs).toBe(before);
    expect(leases(cacheDir(), bundleOf(first)).sort()).toEqual([
      join(dir, "mesh-a"),
      join(dir, "mesh-b"),
    ]);

    writeFileSync(join(dir, "greeting.ts"), 'export const greeting = (): string => "changed";\n');
    const rebuilt = await prepare({ stateDir: join(dir, "mesh-c") });
    expect(rebuilt).not.toBe(first);
    expect(run(rebuilt).trim()).toBe("changed entry.ts import.meta.url");
    expect(bundles()).toHaveLength(2);
    // A mesh started earlier still runs what it started with.
    expect(run(first).trim()).toBe("hello entry.ts import.meta.url");
  });

  it("fails with CREMA_RUNTIME_BUNDLE naming the file that does not parse", async () => {
    writeFileSync(join(dir, "broken.ts"), "export const = ;\n");
    const failure = prepare({ entry: join(dir, "broken.ts"), stateDir: join(dir, "mesh-d") });
    await expect(failure).rejects.toMatchObject({ code: "CREMA_RUNTIME_BUNDLE" });
    const message = await failure.catch((error: Error) => error.message);
    expect(message).toContain("broken.ts");
    expect(message).not.toContain("\u001b[");
  });

  it("bundles crema's CLI, whose packages are imported from where Node finds them", async () => {
    const cli = fileURLToPath(new URL("../cli/run.ts", import.meta.url));
    const entry = await prepare({
      entry: cli,
      cacheDir: join(dir, "cli-cache"),
      stateDir: join(dir, "cli"),
    });
    const version = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    expect(run(entry, "--version").trim()).toBe(version.version);
    const demo = fileURLToPath(new URL("../../examples/coffee-shop", import.meta.url));
    expect(run(entry, "validate", demo)).toMatch(/valid|no problems|0 error/i);
  }, 60_000);

  it("prunes old bundles unless a running mesh or one still starting holds a lease on them", async () => {
    const cache = join(dir, "lease-cache");
    const source = join(dir, "leased.ts");
    /** A state dir whose runtime.json names `pid`. */
    const mesh = (name: string, pid: number) => {
      const stateDir = join(dir, name);
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(join(stateDir, RUNTIME_FILE), JSON.stringify({ pid }));
      return stateDir;
    };
    const exited = spawnSync(process.execPath, ["-e", ""]).pid!;
    const running = mesh("mesh-running", process.pid);
    const crashed = mesh("mesh-crashed", exited);
    const removed = mesh("mesh-removed", process.pid);
    const stopped = mesh("mesh-stopped", process.pid);
    const starting = join(dir, "mesh-starting");
    const version = async (text: string, stateDir: string) => {
      writeFileSync(source, `console.log(${JSON.stringify(text)});\n`);
      return bundleOf(
        await prepare({ entry: source, cacheDir: cache, stateDir, isLeaseLive: runtimeRunning }),
      );
    };
    const hourAgo = new Date(Date.now() - 3_600_000);
    const age = (...paths: string[]) => {
      for (const path of paths) utimesSync(path, hourAgo, hourAgo);
    };
    const leaseFiles = (bundle: string) =>
      readdirSync(join(cache, "leases", bundle)).map((name) => join(cache, "leases", bundle, name));

    const ofRunning = await version("1", running);
    const ofCrashed = await version("2", crashed);
    const ofRemoved = await version("3", removed);
    const ofStopped = await version("4", stopped);
    const ofStarting = await version("5", starting);
    rmSync(removed, { recursive: true });
    // `crema down` drops the mesh's lease.
    releaseCliBundleLeases(cache, stopped);
    expect(existsSync(join(cache, "leases", ofStopped))).toBe(false);
    for (const bundle of [ofRunning, ofCrashed, ofRemoved, ofStopped, ofStarting])
      age(join(cache, bundle));
    age(...[ofRunning, ofCrashed, ofRemoved].flatMap(leaseFiles));

    const latest = await version("6", join(dir, "mesh-latest"));
    expect(bundles(cache).sort()).toEqual([ofRunning, ofStarting, latest].sort());
    expect(leases(cache, ofRunning)).toEqual([running]);
    expect(leases(cache, ofStarting)).toEqual([starting]);
    expect(readdirSync(join(cache, "leases")).sort()).toEqual(
      [ofRunning, ofStarting, latest].sort(),
    );
    // Nothing of the bundle the running mesh loads went missing.
    expect(run(join(cache, ofRunning, "leased.js")).trim()).toBe("1");
  }, 60_000);
});
