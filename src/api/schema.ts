// The field trees of every kind (generated from Istio's CRD schemas and Kubernetes' OpenAPI
// by scripts/generate-schemas.ts) and how to look one up.
import generated from "./schemas.generated.json" with { type: "json" };

export type SchemaNode =
  | { t: "string" | "number" | "integer" | "boolean" | "any" | "intstr" }
  | { t: "enum"; v: string[] }
  | { t: "array" | "map"; i: number }
  | { t: "object"; p: Record<string, [number, 0 | 1]> };

const nodes = generated.nodes as SchemaNode[];
const roots = generated.kinds as Record<string, number>;

export interface SchemaRef {
  node: SchemaNode;
  resolve(index: number): SchemaNode;
}

export function schemaNode(index: number): SchemaNode {
  const node = nodes[index];
  if (!node) throw new Error(`schema node ${index} does not exist`);
  return node;
}

/** Root schema for `apiVersion` + `kind`, or undefined when crema has none. */
export function schemaFor(apiVersion: string, kind: string): SchemaNode | undefined {
  const index = roots[`${apiVersion}/${kind}`];
  return index === undefined ? undefined : schemaNode(index);
}
