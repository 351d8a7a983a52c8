// The agent's status server (pilot-agent's :15020): `/app-health/<container>/<probe>` performs
// the pod's original probe against the app for the kubelet (Istio's probe rewrite), and
// `/healthz/ready` answers as :15021 does, and `/stats/prometheus` merges the proxy's metrics with
// the app's (Istio's metrics merging).
import type { ServerResponse } from "node:http";
import type { Logger } from "../../base/logger.ts";
import {
  type ListenAddress,
  listenHttp,
  type RunningHttpServer,
  splitTarget,
} from "../admin/http-listen.ts";
import { answerReadiness, READY_PATH, type ReadinessCheck } from "../admin/readiness-server.ts";
import { probeApp } from "./app-probe.ts";
import type { AppProbers } from "./app-probers.ts";
import { type AppMetricsTarget, mergeExpositions, scrapeApp } from "./metrics-merge.ts";

export type RunningStatusServer = RunningHttpServer;

/** The proxy's exposition, then the app's when it answers (pilot-agent serves the rest anyway). */
async function mergedMetrics(options: StatusServerOptions): Promise<string> {
  const target = options.appMetrics;
  const [proxy, app] = await Promise.all([
    options.proxyMetrics!(),
    target ? scrapeApp(options.appAddress, target) : undefined,
  ]);
  if (app && !app.ok)
    options.logger.warn({ reason: app.reason }, "the app's metrics could not be scraped");
  return mergeExpositions(proxy, app?.ok ? app.text : undefined);
}

export interface StatusServerOptions {
  /** From ISTIO_KUBE_APP_PROBERS; empty when the injector rewrote no probe. */
  probers: AppProbers;
  /** Where probes reach the app: where the sidecar forwards inbound traffic. */
  appAddress: string;
  isReady: ReadinessCheck;
  logger: Logger;
  /** The proxy's Prometheus exposition (envoy_* and istio_*), for the merged `/stats/prometheus`. */
  proxyMetrics?: () => Promise<string>;
  /** The app's metrics to merge in (ISTIO_PROMETHEUS_ANNOTATIONS); absent: none. */
  appMetrics?: AppMetricsTarget | undefined;
}

const STATS_PATH = "/stats/prometheus";
const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const TEXT = { "content-type": "text/plain; charset=UTF-8" };

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { ...TEXT, "content-length": Buffer.byteLength(body) }).end(body);
}

/** Binds the status server; a listen failure rejects with an error naming the address. */
export async function startStatusServer(
  options: StatusServerOptions,
  address: ListenAddress,
): Promise<RunningStatusServer> {
  const { probers, appAddress, logger } = options;
  let statusPort = address.port;
  const server = await listenHttp((req, res) => {
    // As pilot-agent's mux: any method; only the path counts.
    const { path } = splitTarget(req.url);
    if (path === READY_PATH) {
      answerReadiness(res, options.isReady);
      return;
    }
    if (path === STATS_PATH && options.proxyMetrics) {
      void mergedMetrics(options).then(
        (body) => {
          if (res.destroyed) return;
          res.writeHead(200, {
            "content-type": PROMETHEUS_TYPE,
            "content-length": Buffer.byteLength(body),
          });
          res.end(body);
        },
        (error: unknown) => {
          if (!res.headersSent) text(res, 500, `metrics unavailable: ${String(error)}\n`);
        },
      );
      return;
    }
    if (!path.startsWith("/app-health/") && !path.startsWith("/app-lifecycle/")) {
      text(res, 404, "404 page not found\n");
      return;
    }
    const prober = probers.get(path);
    if (!prober) {
      // pilot-agent answers 400 for a prober path it was not given.
      logger.warn({ path }, "no app prober for this path");
      text(res, 400, `no app prober is configured for ${path}\n`);
      return;
    }
    const incoming = { headers: req.headers, statusPort };
    void probeApp(prober, { appAddress, incoming }).then(
      (outcome) => {
        if (outcome.failure) logger.debug({ path, reason: outcome.failure }, "app probe failed");
        if (res.destroyed) return;
        res.writeHead(outcome.status, { "content-length": Buffer.byteLength(outcome.body) });
        res.end(outcome.body);
      },
      (error: unknown) => {
        if (!res.headersSent) text(res, 500, `app probe failed: ${String(error)}\n`);
      },
    );
  }, address).catch((error: unknown) => {
    const host = address.host.includes(":") ? `[${address.host}]` : address.host;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `the agent's status server cannot listen on ${host}:${address.port}: ${reason}`,
      {
        cause: error,
      },
    );
  });
  statusPort = server.port;
  return server;
}
