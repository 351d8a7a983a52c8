// Test fixtures for the control plane: a MeshSnapshot from inline YAML, through the same
// load/validate path as the CLI (validateSources → buildSnapshot).
import { validateSources } from "../../config/validate.ts";
import { buildSnapshot } from "./build-snapshot.ts";
import type { MeshConfig } from "./mesh-config.ts";
import type { MeshSnapshot } from "./snapshot.ts";

/**
 * The snapshot of `yaml` (one or more documents; namespace "default" when unnamed). Throws when
 * the fixture does not load or fails its kinds' schemas, so broken fixtures fail loudly.
 */
export function snapshotFromYaml(yaml: string, meshConfig?: Partial<MeshConfig>): MeshSnapshot {
  const { resources, diagnostics } = validateSources([{ path: "test.yaml", text: yaml }]);
  const broken = diagnostics.filter(
    (d) => /^CREMA_(CONFIG|SCHEMA)_/.test(d.code) && d.severity === "error",
  );
  if (broken.length > 0)
    throw new Error(
      `fixture does not load:\n${broken.map((d) => `  ${d.code} ${d.path ?? ""} line ${d.position?.line}: ${d.message}`).join("\n")}`,
    );
  return buildSnapshot(resources, meshConfig);
}

/** A telemetry.istio.io/v1 Telemetry document (ending with `---`) whose spec is `spec`, YAML. */
export function telemetryYaml(name: string, namespace: string, spec: string): string {
  const body = spec
    .trim()
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
  return `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ${name}, namespace: ${namespace}}
spec:
${body}
---
`;
}
