// A decoded configuration resource: its identity, its body, and where it came from.
import type { ResourceRef } from "./diagnostic.ts";
import type { Locator } from "./yaml-documents.ts";

export interface ResourceSource {
  file: string;
  /** 0-based document index within the file. */
  document: number;
  locate: Locator;
}

export interface Resource {
  apiVersion: string;
  group: string;
  version: string;
  kind: string;
  name: string;
  /** Effective namespace: as written, else the default namespace; "" for cluster-scoped kinds. */
  namespace: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** `spec` (or {} when absent). Kubernetes kinds without spec (ConfigMap, Secret) read `body`. */
  spec: Record<string, unknown>;
  body: Record<string, unknown>;
  source?: ResourceSource;
}

export function resourceRef(resource: Resource): ResourceRef {
  return resource.namespace
    ? { kind: resource.kind, namespace: resource.namespace, name: resource.name }
    : { kind: resource.kind, name: resource.name };
}

/** `Kind/namespace/name`, unique per resource in one snapshot of config. */
export function resourceKey(resource: Pick<Resource, "kind" | "namespace" | "name">): string {
  return `${resource.kind}/${resource.namespace}/${resource.name}`;
}
