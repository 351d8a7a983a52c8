// `npm run bench`: runs the benchmarks and prints one table (and `--json FILE` for machines).
// Every figure is also given as a ratio against a baseline measured in the same run.
import { writeFileSync } from "node:fs";
import { benchConfigValidation } from "./config-validation.ts";

const jsonIndex = process.argv.indexOf("--json");
const jsonFile = jsonIndex >= 0 ? process.argv[jsonIndex + 1] : undefined;

const count = 10_000;
console.log(`config validation: ${count} resources, 5 runs each (median, min–max)\n`);
const results = benchConfigValidation(count);
const rows = results.map((r) => [
  r.name,
  `${r.medianMs.toFixed(0)} ms (${r.minMs.toFixed(0)}–${r.maxMs.toFixed(0)})`,
  `${r.perThousandMs.toFixed(1)} ms`,
  `${r.ratioToBaseline.toFixed(2)}×`,
]);
const header = ["scenario", "total", "per 1,000", "vs baseline"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
for (const row of [header, ...rows])
  console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  "));

const full = results.at(-1)!;
const target = 1000;
console.log(
  `\ntarget: validating + analyzing 1,000 resources takes well under ${target} ms — ${full.perThousandMs < target / 2 ? "met" : "not met"} (${full.perThousandMs.toFixed(1)} ms)`,
);
if (jsonFile)
  writeFileSync(jsonFile, `${JSON.stringify({ configValidation: results }, null, 2)}\n`);
