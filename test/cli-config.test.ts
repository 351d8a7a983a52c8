// The CLI's validate and analyze commands as a user runs them: golden text output for the
// fixtures in testdata/cli/<command>/, exit codes, output formats and thresholds.
import { spawn } from "node:child_process";
import { basename, dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "./support/cli.ts";
import { discoverGoldenCases, expectGolden } from "./support/golden.ts";

describe("golden CLI output", () => {
  for (const c of discoverGoldenCases("testdata/cli", ".yaml", ".txt")) {
    const command = basename(dirname(c.inputPath));
    it(`crema ${command} ${c.inputPath}`, async () => {
      const run = await runCli([command, c.inputPath]);
      expectGolden(
        `$ crema ${command} ${c.inputPath}\n# exit ${run.code}\n${run.stdout}${run.stderr}`,
        c.goldenPath,
      );
    });
  }
});

describe("crema validate", () => {
  it("exits 0 and says so on clean input", async () => {
    const run = await runCli(
      ["validate", "-"],
      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n",
    );
    expect(run).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("No validation issues found in 1 resource"),
    });
  });

  it("exits 1 on errors and prints JSON with code, resource, path and position", async () => {
    const run = await runCli([
      "validate",
      "-o",
      "json",
      "testdata/cli/validate/typos-and-types.yaml",
    ]);
    expect(run.code).toBe(1);
    const diagnostics = JSON.parse(run.stdout);
    expect(diagnostics).toContainEqual({
      code: "CREMA_SCHEMA_UNKNOWN_FIELD",
      severity: "error",
      message: 'unknown field "htp" in VirtualService spec; did you mean "http"?',
      resource: { kind: "VirtualService", namespace: "shop", name: "reviews" },
      path: "spec.htp",
      position: { file: "testdata/cli/validate/typos-and-types.yaml", line: 10, column: 3 },
    });
  });

  it("prints YAML output", async () => {
    const run = await runCli(["validate", "-o", "yaml", "testdata/cli/validate/broken-yaml.yaml"]);
    expect(parse(run.stdout)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: "CREMA_CONFIG_YAML_DUPLICATE_KEY" }),
      ]),
    );
  });

  it("exits 3 when input cannot be read", async () => {
    const run = await runCli(["validate", "testdata/does-not-exist.yaml"]);
    expect(run.code).toBe(3);
    expect(run.stdout).toContain("CREMA_CONFIG_READ_FAILED");
  });

  it("exits 2 on usage errors", async () => {
    expect((await runCli(["validate"])).code).toBe(2);
    expect((await runCli(["validate", "-o", "xml", "x.yaml"])).code).toBe(2);
    expect((await runCli(["validate", "--failure-threshold", "fatal", "x.yaml"])).code).toBe(2);
  });

  it("--failure-threshold Warning fails on warnings; --output-threshold hides lower severities", async () => {
    const twice =
      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n";
    expect((await runCli(["validate", "-"], twice)).code).toBe(0);
    const strict = await runCli(["validate", "--failure-threshold", "Warning", "-"], twice);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain("CREMA_CONFIG_DUPLICATE_RESOURCE");
    const quiet = await runCli(["validate", "--output-threshold", "Error", "-"], twice);
    expect(quiet.stdout).not.toContain("CREMA_CONFIG_DUPLICATE_RESOURCE");
  });
});

describe("the crema binary", () => {
  it("runs validate from a shell with the documented exit code", async () => {
    const child = spawn(
      process.execPath,
      ["bin/crema.js", "validate", "testdata/cli/validate/typos-and-types.yaml"],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(1);
    expect(stdout).toContain("CREMA_SCHEMA_ENUM");
  });
});

describe("crema analyze", () => {
  const fixture = "testdata/cli/analyze/dangling-references.yaml";

  it("exits 79 when it finds errors, 0 when the threshold is above them", async () => {
    expect((await runCli(["analyze", fixture])).code).toBe(79);
    const relaxed = await runCli([
      "analyze",
      "--failure-threshold",
      "Error",
      "--output-threshold",
      "Error",
      "examples/coffee-shop",
    ]);
    expect(relaxed.code).toBe(0);
  });

  it("-n narrows the report to one namespace; -A reports all", async () => {
    const all = JSON.parse(
      (await runCli(["analyze", "-A", "-o", "json", fixture])).stdout,
    ) as Array<{ resource?: { namespace?: string } }>;
    expect(all.some((d) => d.resource?.namespace === "shop")).toBe(true);
    const narrowed = await runCli(["analyze", "-n", "elsewhere", "-o", "json", fixture]);
    expect(narrowed.code).toBe(0);
    expect(JSON.parse(narrowed.stdout)).toEqual([]);
  });
});
