// The control plane's Prometheus metrics, with Istio's names (pilot_*), labels and buckets.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface ControlPlaneMetrics {
  registry: Registry;
  /** pilot_xds_pushes{type}: xDS responses sent, by type (lds, rds, cds, eds). */
  pushes: Counter<"type">;
  /** pilot_total_xds_rejects{type}: NACKs received. */
  rejects: Counter<"type">;
  /** pilot_proxy_convergence_time: seconds from a config change to the proxy's ACK. */
  convergence: Histogram<string>;
  /** pilot_xds_push_time{type}: seconds to compute and send a push. */
  pushTime: Histogram<"type">;
  /** pilot_xds{version}: proxies connected. */
  connected: Gauge<"version">;
  /** pilot_total_xds_internal_errors: internal errors while generating config (a failed
   * translation, or a resource that cannot be encoded: once per connection and object). */
  internalErrors: Counter<string>;
}

export function createControlPlaneMetrics(): ControlPlaneMetrics {
  const registry = new Registry();
  return {
    registry,
    pushes: new Counter({
      name: "pilot_xds_pushes",
      help: "Pilot build and send errors for lds, rds, cds and eds.",
      labelNames: ["type"],
      registers: [registry],
    }),
    rejects: new Counter({
      name: "pilot_total_xds_rejects",
      help: "Total number of XDS responses from pilot rejected by proxy.",
      labelNames: ["type"],
      registers: [registry],
    }),
    convergence: new Histogram({
      name: "pilot_proxy_convergence_time",
      help: "Delay in seconds between config change and a proxy receiving all required configuration.",
      buckets: [0.1, 0.5, 1, 3, 5, 10, 20, 30],
      registers: [registry],
    }),
    pushTime: new Histogram({
      name: "pilot_xds_push_time",
      help: "Total time in seconds Pilot takes to push lds, rds, cds and eds.",
      labelNames: ["type"],
      buckets: [0.01, 0.1, 1, 3, 5, 10, 20, 30],
      registers: [registry],
    }),
    connected: new Gauge({
      name: "pilot_xds",
      help: "Number of endpoints connected to this pilot using XDS.",
      labelNames: ["version"],
      registers: [registry],
    }),
    internalErrors: new Counter({
      name: "pilot_total_xds_internal_errors",
      help: "Total number of internal XDS errors in pilot.",
      registers: [registry],
    }),
  };
}
