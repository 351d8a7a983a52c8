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

/** Kinds a sidecar's own (inbound) configuration does not read: localConfigVersion leaves
 * them out. Pods, Endpoints and EndpointSlices feed workloads and endpoints; VirtualServices and
 * Gateways shape routing (outbound, gateways). */
function outsideLocalConfig(r: Resource): boolean {
  if (r.group === "") return r.kind === "Pod" || r.kind === "Endpoints";
  if (r.group === "discovery.k8s.io") return r.kind === "EndpointSlice";
  return r.group === "networking.istio.io" && (r.kind === "VirtualService" || r.kind === "Gateway");
}

// A snapshot is built on every change from every resource, most of them unchanged: the store
// replaces a changed resource with a new object and never edits one, so each object's text is
// computed once.
const texts = new WeakMap<Resource, string>();

function resourceText(r: Resource): string {
  let text = texts.get(r);
  if (text === undefined) {
    text = `\n${canonicalJson([r.apiVersion, r.kind, r.namespace, r.name, r.body])}`;
    texts.set(r, text);
  }
  return text;
}

export interface SnapshotVersions {
  /** Over the mesh config and every resource, in input order. */
  version: string;
  /** The same without the kinds outsideLocalConfig names. */
  localConfigVersion: string;
}

/** First 12 hex characters of sha256 over the mesh config and the resources, in input order. */
export function snapshotVersions(
  resources: readonly Resource[],
  meshConfig: MeshConfig,
): SnapshotVersions {
  const all = createHash("sha256");
  const local = createHash("sha256");
  const mesh = canonicalJson(meshConfig);
  all.update(mesh);
  local.update(mesh);
  for (const r of resources) {
    const text = resourceText(r);
    all.update(text);
    if (!outsideLocalConfig(r)) local.update(text);
  }
  return {
    version: all.digest("hex").slice(0, 12),
    localConfigVersion: local.digest("hex").slice(0, 12),
  };
}
