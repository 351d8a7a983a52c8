// Istio's metrics merging: the agent's `/stats/prometheus` on 15020 serves the proxy's own
// exposition (envoy_* and istio_*) followed by the application's metrics, scraped where the
// pod's `prometheus.io/*` annotations said (the injector hands them over in
// ISTIO_PROMETHEUS_ANNOTATIONS and points the annotations at 15020), so one scrape target per pod
// gives both.
import { nodeHttp } from "../../base/node-http.ts";

const { request } = nodeHttp;

export const PROMETHEUS_ANNOTATIONS_ENV = "ISTIO_PROMETHEUS_ANNOTATIONS";

/** Where the app's metrics are: its port and path (default `/metrics`). */
export interface AppMetricsTarget {
  readonly port: number;
  readonly path: string;
}

export type ParsedAppMetricsTarget =
  | { ok: true; target: AppMetricsTarget | undefined }
  | { ok: false; error: string };

/**
 * ISTIO_PROMETHEUS_ANNOTATIONS, as the injector writes it: `{"scrape":"true","path":"/metrics",
 * "port":"9090"}`. No variable, `scrape` other than "true", or no port: nothing to merge.
 */
export function parseAppMetricsTarget(value: string | undefined): ParsedAppMetricsTarget {
  if (value === undefined || value.trim() === "") return { ok: true, target: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    return {
      ok: false,
      error: `${PROMETHEUS_ANNOTATIONS_ENV} is not JSON: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return { ok: false, error: `${PROMETHEUS_ANNOTATIONS_ENV} must be a JSON object` };
  const { scrape, path, port } = parsed as Record<string, unknown>;
  if (scrape !== undefined && scrape !== "true") return { ok: true, target: undefined };
  if (port === undefined || port === "") return { ok: true, target: undefined };
  const portNumber = Number(port);
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535)
    return {
      ok: false,
      error: `${PROMETHEUS_ANNOTATIONS_ENV}: port must be 1–65535, got ${JSON.stringify(port)}`,
    };
  const metricsPath = typeof path === "string" && path !== "" ? path : "/metrics";
  return {
    ok: true,
    target: {
      port: portNumber,
      path: metricsPath.startsWith("/") ? metricsPath : `/${metricsPath}`,
    },
  };
}

/** How long the agent waits for the app's metrics before it serves the proxy's alone. */
const APP_SCRAPE_TIMEOUT_MS = 5_000;

/** The app's exposition, or undefined (with the reason logged by the caller) when it failed. */
export function scrapeApp(
  appAddress: string,
  target: AppMetricsTarget,
): Promise<{ ok: true; text: string } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    const req = request(
      { host: appAddress, port: target.port, path: target.path, timeout: APP_SCRAPE_TIMEOUT_MS },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () =>
          resolve(
            res.statusCode === 200
              ? { ok: true, text }
              : { ok: false, reason: `the app answered ${res.statusCode}` },
          ),
        );
        res.on("error", (err) => resolve({ ok: false, reason: err.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (err) => resolve({ ok: false, reason: err.message }));
    req.end();
  });
}

/** The proxy's exposition, then the app's (each block keeps its families whole). */
export function mergeExpositions(proxy: string, app: string | undefined): string {
  if (app === undefined || app === "") return proxy;
  const head = proxy === "" || proxy.endsWith("\n") ? proxy : `${proxy}\n`;
  return app.endsWith("\n") ? head + app : `${head}${app}\n`;
}
