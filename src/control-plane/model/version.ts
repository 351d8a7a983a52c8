// The snapshot version: a content hash of everything buildSnapshot reads, so the same input
// always yields the same version and any change yields a new one (xDS version_info).
import { createHash } from "node:crypto";
import type { Resource } from "../../config/resource.ts";
import type { MeshConfig } from "./mesh-config.ts";

/** JSON with object keys sorted at every level (undefined members dropped, as JSON does). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** First 12 hex characters of sha256 over the mesh config and the resources, in input order. */
export function snapshotVersion(resources: readonly Resource[], meshConfig: MeshConfig): string {
  const hash = createHash("sha256");
  hash.update(canonicalJson(meshConfig));
  for (const r of resources) {
    hash.update("\n");
    hash.update(canonicalJson([r.apiVersion, r.kind, r.namespace, r.name, r.body]));
  }
  return hash.digest("hex").slice(0, 12);
}
