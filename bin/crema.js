#!/usr/bin/env node
// Entry point: runs the TypeScript sources directly where they exist and Node can strip types
// (a checkout), otherwise the compiled CLI in dist/ (an installed package or `npm run build`).
import { existsSync } from "node:fs";
import module from "node:module";

// Every pod of a local mesh starts crema (its proxy, often its app): caching compiled and
// type-stripped modules on disk (Node's own cache, under the system temp folder unless
// NODE_COMPILE_CACHE names one) makes every start after the first several times faster.
module.enableCompileCache?.();

// package.json's engines: older Nodes fail deep inside (WebCrypto key conversions, TLS) with
// errors that do not say why.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `crema: needs Node 22.12 or newer, this is ${process.version}; 'npx crema' runs on the pinned Node 24\n`,
  );
  process.exit(2);
}

const source = new URL("../src/cli/run.ts", import.meta.url);
const built = new URL("../dist/cli/run.js", import.meta.url);
const runSource = existsSync(source) && process.features.typescript;
if (!runSource && !existsSync(built)) {
  process.stderr.write(
    `crema: this Node (${process.version}) cannot run TypeScript sources; use 'npx crema' (which runs on the pinned Node 24), Node 22.18 or newer, or run 'npm run build' first\n`,
  );
  process.exit(2);
}
await import((runSource ? source : built).href);
