import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareCliBundle } from "./cli-bundle.ts";

let dir: string;
/** The first bundle's entry, in mesh-a's copies. */
let first: string;
const cacheDir = () => join(dir, "cache");
const bundles = () => readdirSync(cacheDir()).filter((name) => !name.endsWith(".json"));
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
  it("bundles a module graph whose modules still see their own URL, and copies it to the target", async () => {
    const entry = await prepareCliBundle({
      entry: join(dir, "entry.ts"),
      cacheDir: cacheDir(),
      copiesDir: join(dir, "mesh-a"),
    });
    first = entry;
    expect(entry).toMatch(new RegExp(`^${join(dir, "mesh-a")}/[0-9a-f]{16}/entry\\.js$`));
    // The asset is read next to greeting.ts, each module's URL is its source file's, and the
    // same words inside a string are left alone.
    expect(run(entry).trim()).toBe("hello entry.ts import.meta.url");
    expect(bundles()).toHaveLength(1);
  });

  it("reuses the bundle while its files are unchanged, and rebuilds when one changes", async () => {
    const manifest = join(cacheDir(), readdirSync(cacheDir()).find((n) => n.endsWith(".json"))!);
    const before = statSync(manifest).mtimeMs;
    const again = await prepareCliBundle({
      entry: join(dir, "entry.ts"),
      cacheDir: cacheDir(),
      copiesDir: join(dir, "mesh-b"),
    });
    expect(run(again).trim()).toBe("hello entry.ts import.meta.url");
    expect(statSync(manifest).mtimeMs).toBe(before);
    // The same bundle in the same mesh is the same copy.
    const same = await prepareCliBundle({
      entry: join(dir, "entry.ts"),
      cacheDir: cacheDir(),
      copiesDir: join(dir, "mesh-a"),
    });
    expect(same).toBe(first);

    writeFileSync(join(dir, "greeting.ts"), 'export const greeting = (): string => "changed";\n');
    const rebuilt = await prepareCliBundle({
      entry: join(dir, "entry.ts"),
      cacheDir: cacheDir(),
      copiesDir: join(dir, "mesh-c"),
    });
    expect(run(rebuilt).trim()).toBe("changed entry.ts import.meta.url");
    expect(bundles()).toHaveLength(2);
    // A mesh started earlier keeps its own copy.
    expect(run(first).trim()).toBe("hello entry.ts import.meta.url");
  });

  it("fails with CREMA_RUNTIME_BUNDLE naming the file that does not parse", async () => {
    writeFileSync(join(dir, "broken.ts"), "export const = ;\n");
    const failure = prepareCliBundle({
      entry: join(dir, "broken.ts"),
      cacheDir: cacheDir(),
      copiesDir: join(dir, "mesh-d"),
    });
    await expect(failure).rejects.toMatchObject({ code: "CREMA_RUNTIME_BUNDLE" });
    const message = await failure.catch((error: Error) => error.message);
    expect(message).toContain("broken.ts");
    expect(message).not.toContain("\u001b[");
  });

  it("bundles crema's CLI, whose packages are imported from where Node finds them", async () => {
    const cli = fileURLToPath(new URL("../cli/run.ts", import.meta.url));
    const entry = await prepareCliBundle({
      entry: cli,
      cacheDir: join(dir, "cli-cache"),
      copiesDir: join(dir, "cli"),
    });
    const version = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    expect(run(entry, "--version").trim()).toBe(version.version);
    const demo = fileURLToPath(new URL("../../examples/coffee-shop", import.meta.url));
    expect(run(entry, "validate", demo)).toMatch(/valid|no problems|0 error/i);
  }, 60_000);
});
