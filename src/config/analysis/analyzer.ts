// The interface every level-3 analyzer implements, and the context it reads the mesh from.
// Analyzers are pure: they read the context's indexes and report findings through it.
import type { ErrorCode } from "../../base/errors.ts";
import type { FieldPath, Severity } from "../diagnostic.ts";
import type { Resource } from "../resource.ts";
import type { Labels } from "./labels.ts";
import type { MeshNamespace, MeshService, Workload } from "./mesh-index.ts";

export interface AnalysisContext {
  /** Istio's root namespace (mesh-wide policies live there); default `istio-system`. */
  readonly rootNamespace: string;
  readonly resources: readonly Resource[];
  /** Resources of one kind, in input order. */
  ofKind(kind: string): readonly Resource[];
  readonly services: readonly MeshService[];
  readonly workloads: readonly Workload[];
  /** Namespace objects plus every namespace a resource lives in. */
  readonly namespaces: ReadonlyMap<string, MeshNamespace>;
  /** `host` written in `namespace` as the FQDN Istio resolves it to. */
  resolveHost(host: string, namespace: string): string;
  /**
   * Services visible from `fromNamespace` that serve `host` (written in `fromNamespace`): the
   * same FQDN, or a ServiceEntry wildcard covering it; for a wildcard `host`, also every service
   * host it covers.
   */
  servicesForHost(host: string, fromNamespace: string): MeshService[];
  /** Workloads whose labels match `selector`, in `namespace` or (undefined) anywhere. */
  workloadsSelectedBy(selector: Labels, namespace?: string): Workload[];
  /** Whether the input has any workload in `namespace` (or anywhere when undefined). */
  hasWorkloads(namespace?: string): boolean;
  /** Records a finding about `resource` at `path` (located in its source file). */
  report(
    resource: Resource,
    path: FieldPath,
    code: ErrorCode,
    severity: Severity,
    message: string,
  ): void;
}

export interface Analyzer {
  /** Stable name, e.g. `virtualservice.destinations`, shown in internal-error reports. */
  name: string;
  /** The codes it may report (reporting any other code is a bug). */
  codes: readonly ErrorCode[];
  run(ctx: AnalysisContext): void;
}
