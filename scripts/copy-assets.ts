// Copies the non-TypeScript files the sources load at run time into dist/ after `tsc`.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

const ASSETS = [
  "echo/echo.proto",
  "ca/istio-ca.proto",
  "ca/istio-ca.generated.json",
  "api/schemas.generated.json",
  "xds/envoy-descriptors.generated.json",
  "xds/envoy-declarations.generated.json",
  "xds/envoy-decode-plans.generated.json",
];

for (const asset of ASSETS) {
  const target = new URL(`../dist/${asset}`, import.meta.url);
  mkdirSync(dirname(target.pathname), { recursive: true });
  copyFileSync(new URL(`../src/${asset}`, import.meta.url), target);
}
