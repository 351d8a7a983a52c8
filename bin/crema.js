#!/usr/bin/env node
// Entry point: runs the compiled CLI when built, otherwise the TypeScript sources directly
// (Node 24 strips types natively).
import { existsSync } from "node:fs";

const built = new URL("../dist/cli/main.js", import.meta.url);
const entry = existsSync(built) ? built : new URL("../src/cli/main.ts", import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
