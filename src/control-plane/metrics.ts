// The control plane's Prometheus metrics, with Istio's names (pilot_*, and citadel_server_* for
// the certificate authority), labels and buckets, beside the process metrics (process_*, nodejs_*)
// prom-client collects.
import { X509Certificate } from "node:crypto";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { CaBundle } from "../ca/ca-bundle.ts";
import type { CsrMonitor } from "../ca/csr-monitor.ts";

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
  /** Counts the CSR API's calls into the citadel_server_* counters. */
  csrMonitor: CsrMonitor;
  /** Reports the CA's root and chain expiry (read at each scrape) once there is a CA. */
  watchCaBundle(bundle: () => CaBundle): void;
}

function citadelCounter(registry: Registry, name: string, help: string): Counter<string> {
  return new Counter({ name: `citadel_server_${name}`, help, registers: [registry] });
}

/** Unix seconds of a PEM certificate's notAfter. */
function notAfterSeconds(pem: string): number {
  return Date.parse(new X509Certificate(pem).validTo) / 1000;
}

export function createControlPlaneMetrics(): ControlPlaneMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const csrs = citadelCounter(registry, "csr_count", "The number of CSRs received by the CA.");
  const authnFailures = citadelCounter(
    registry,
    "authentication_failure_count",
    "The number of authentication failures.",
  );
  const parsingErrors = citadelCounter(
    registry,
    "csr_parsing_err_count",
    "The number of errors occurred when parsing the CSR.",
  );
  const signErrors = new Counter({
    name: "citadel_server_csr_sign_err_count",
    help: "The number of errors occurred when signing the CSR.",
    labelNames: ["error"],
    registers: [registry],
  });
  const issued = citadelCounter(
    registry,
    "success_cert_issuance_count",
    "The number of certificates issuances that have succeeded.",
  );
  let caBundle: (() => CaBundle) | undefined;
  const expiry = (
    name: string,
    help: string,
    of: (bundle: CaBundle) => number,
    untilNow: boolean,
  ) =>
    new Gauge({
      name: `citadel_server_${name}`,
      help,
      registers: [registry],
      collect() {
        if (!caBundle) return;
        const seconds = of(caBundle());
        this.set(untilNow ? seconds - Date.now() / 1000 : seconds);
      },
    });
  const root = (bundle: CaBundle) => notAfterSeconds(bundle.rootsPem[0]!);
  const chain = (bundle: CaBundle) => bundle.chainNotAfter / 1000;
  expiry(
    "root_cert_expiry_timestamp",
    "The unix timestamp, in seconds, when the CA's root certificate expires.",
    root,
    false,
  );
  expiry(
    "root_cert_expiry_seconds",
    "Seconds until the CA's root certificate expires (negative once expired).",
    root,
    true,
  );
  expiry(
    "cert_chain_expiry_timestamp",
    "The unix timestamp, in seconds, when the CA's certificate chain expires.",
    chain,
    false,
  );
  expiry(
    "cert_chain_expiry_seconds",
    "Seconds until the CA's certificate chain expires (negative once expired).",
    chain,
    true,
  );
  return {
    csrMonitor: {
      csr: () => csrs.inc(),
      authenticationFailure: () => authnFailures.inc(),
      csrParsingError: () => parsingErrors.inc(),
      signError: (error) => signErrors.inc({ error }),
      success: () => issued.inc(),
    },
    watchCaBundle: (bundle) => {
      caBundle = bundle;
    },
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
