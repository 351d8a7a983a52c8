#!/usr/bin/env node
// Entry point: runs the TypeScript sources directly where they exist and Node can strip types
// (a checkout), otherwise the compiled CLI in dist/ (an installed package).
import { existsSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
const built = new URL("../dist/cli/main.js", import.meta.url);
const entry = existsSync(source) && process.features.typescript ? source : built;
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
