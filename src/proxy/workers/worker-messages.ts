// What the proxy's main thread and its worker threads tell each other. The main thread owns the
// xDS stream, the admin server, the agent and the outlier detectors; workers carry traffic with
// the config the main thread accepted, share its circuit-breaker counts and report to it.
import type { ResourceUpdate } from "../../xds/client/types.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { StatTags } from "../stats/stats-store.ts";
import type { IstioMetricsSnapshot } from "../telemetry/metrics-snapshot.ts";
import type { TlsCertificate } from "../tls/secret-provider.ts";
import type { LoadAssignment } from "../upstream/decode-endpoints.ts";
import type { EjectionReason, OutlierResult } from "../upstream/outlier-detector.ts";

/** What the main thread's detector decided about one host, and its ejection count since. */
export type OutlierDecision =
  | {
      readonly ejected: true;
      readonly reason: EjectionReason;
      readonly ejectionTimeMs: number;
      readonly ejections: number;
    }
  | { readonly ejected: false; readonly ejections: number };

/** TLS material by SDS name, as the main thread's secret provider has it now. */
export interface ForwardedSecrets {
  readonly certificates: Readonly<Record<string, TlsCertificate>>;
  readonly trustedCas: Readonly<Record<string, string>>;
}

/** What a worker is started with. */
export interface WorkerSetup {
  readonly index: number;
  /** The proxy's xDS node (Istio's metrics label this proxy's side from it). */
  readonly node: JsonObject;
  readonly logLevel: string;
  readonly sourceAddress: string | undefined;
  readonly drainTimeMs: number;
  readonly secrets: ForwardedSecrets;
}

export type ToWorker =
  /** An update the main thread accepted (and will ACK once every worker applied it). */
  | {
      readonly kind: "update";
      readonly seq: number;
      readonly typeUrl: string;
      readonly update: ResourceUpdate;
      /** The circuit-breaker counts of the clusters the update adds, shared with the main thread. */
      readonly breakerCounts?: ReadonlyMap<string, Int32Array>;
    }
  /** A STRICT_DNS/LOGICAL_DNS cluster's lookup ended. */
  | {
      readonly kind: "dns";
      readonly seq: number;
      readonly cluster: string;
      readonly assignment: LoadAssignment;
    }
  /** The main thread's detector ejected or readmitted a host. */
  | {
      readonly kind: "outlier";
      readonly cluster: string;
      readonly address: string;
      readonly decision: OutlierDecision;
    }
  /** The main thread's socket for a listener on port 0 got this port. */
  | {
      readonly kind: "any-port";
      readonly name: string;
      readonly json: string;
      readonly port: number;
    }
  | { readonly kind: "secrets"; readonly secrets: ForwardedSecrets }
  | { readonly kind: "log-level"; readonly level: string }
  | { readonly kind: "drain" }
  | { readonly kind: "collect"; readonly id: number }
  | { readonly kind: "close" };

/** One stat: name, value, and its tags when it has them. */
export type StatEntry = readonly [string, number, StatTags | undefined];

/** What a worker holds that the admin server sums over threads. */
export interface WorkerTotals {
  readonly counters: readonly StatEntry[];
  readonly gauges: readonly StatEntry[];
  /** Requests active per host: [cluster, address, count], only where count > 0. */
  readonly activeRequests: readonly (readonly [string, string, number])[];
  readonly istio: IstioMetricsSnapshot;
}

export type FromWorker =
  | { readonly kind: "applied"; readonly seq: number }
  | { readonly kind: "ready" }
  | {
      readonly kind: "outlier-results";
      readonly results: readonly (readonly [string, string, OutlierResult])[];
    }
  | { readonly kind: "collected"; readonly id: number; readonly totals: WorkerTotals }
  | { readonly kind: "closed" };
