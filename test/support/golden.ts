// Golden-file testing: discover cases from a testdata directory, compare output with the
// stored `.golden.*` file, show a unified diff on mismatch, refresh with UPDATE_GOLDEN=1.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { createTwoFilesPatch } from "diff";

export interface GoldenCase {
  name: string;
  inputPath: string;
  goldenPath: string;
}

/**
 * Lists the cases in `dir`: every file ending in `inputSuffix` (e.g. ".yaml") that is not itself
 * a golden file. The golden file sits beside it as `<name>.golden<goldenExt>`.
 */
export function discoverGoldenCases(
  dir: string,
  inputSuffix: string,
  goldenExt = inputSuffix,
): GoldenCase[] {
  const cases: GoldenCase[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current).sort()) {
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith(inputSuffix) && !entry.includes(".golden")) {
        const name = relative(dir, path).slice(0, -inputSuffix.length);
        cases.push({ name, inputPath: path, goldenPath: join(dir, `${name}.golden${goldenExt}`) });
      }
    }
  };
  walk(dir);
  return cases;
}

export function updatingGoldens(): boolean {
  return process.env.UPDATE_GOLDEN === "1";
}

/** Throws with a unified diff when `actual` differs from the golden file. */
export function expectGolden(actual: string, goldenPath: string): void {
  if (updatingGoldens()) {
    mkdirSync(dirname(goldenPath), { recursive: true });
    writeFileSync(goldenPath, actual);
    return;
  }
  if (!existsSync(goldenPath)) {
    throw new Error(`golden file ${goldenPath} is missing: run with UPDATE_GOLDEN=1 to create it`);
  }
  const expected = readFileSync(goldenPath, "utf8");
  if (expected === actual) return;
  const patch = createTwoFilesPatch(basename(goldenPath), "actual", expected, actual, "", "", {
    context: 3,
  });
  throw new Error(`output differs from ${goldenPath} (UPDATE_GOLDEN=1 refreshes it):\n${patch}`);
}
