// The architecture's layering (docs/ARCHITECTURE.md): a module may import only from its own
// layer folder or from layers strictly below it. Proxy and control plane never import each other.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";

export const LAYERS: Record<string, number> = {
  base: 0,
  api: 1,
  config: 2,
  xds: 2,
  ca: 2,
  "control-plane": 3,
  proxy: 3,
  echo: 3,
  runtime: 4,
  dashboard: 4,
  cli: 5,
};

export interface LayerViolation {
  file: string;
  line: number;
  from: string;
  to: string;
}

const IMPORT =
  /(?:^|\s)(?:import|export)\s[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^\s*import\s+["']([^"']+)["']/gm;

function layerOf(srcDir: string, file: string): string | undefined {
  const rel = relative(srcDir, file);
  if (rel.startsWith("..")) return undefined;
  return rel.split(sep)[0];
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (entry.endsWith(".ts")) out.push(path);
  }
  return out;
}

export function findLayerViolations(srcDir: string): LayerViolation[] {
  const violations: LayerViolation[] = [];
  for (const file of sourceFiles(srcDir)) {
    const from = layerOf(srcDir, file);
    if (!from || !(from in LAYERS)) {
      violations.push({ file, line: 1, from: String(from), to: "(not a known layer folder)" });
      continue;
    }
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3];
      if (!specifier?.startsWith(".")) continue;
      const to = layerOf(srcDir, resolve(file, "..", specifier));
      if (!to || to === from) continue;
      const line = text.slice(0, match.index).split("\n").length;
      const crossesPeers =
        (from === "proxy" && to === "control-plane") ||
        (from === "control-plane" && to === "proxy");
      if (crossesPeers || !(to in LAYERS) || LAYERS[to]! >= LAYERS[from]!) {
        violations.push({ file: relative(srcDir, file), line, from, to });
      }
    }
  }
  return violations;
}
