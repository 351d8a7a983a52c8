// The agent's health server (Istio's :15021): `/healthz/ready` answers 200 once the proxy is
// ready and 503 with the reason until then; Kubernetes readiness probes point here.
import type { ServerResponse } from "node:http";
import {
  type ListenAddress,
  listenHttp,
  type RunningHttpServer,
  splitTarget,
} from "./http-listen.ts";

export const READY_PATH = "/healthz/ready";

/** `true` when ready, otherwise why not ("config not received from XDS server" …). */
export type ReadinessCheck = () => true | string;

export type RunningReadinessServer = RunningHttpServer;

function reasonOf(isReady: ReadinessCheck): true | string {
  try {
    return isReady();
  } catch (error) {
    return `readiness check failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Answers `/healthz/ready`: 200 when ready, else 503 with the reason (15021 and 15020 alike). */
export function answerReadiness(res: ServerResponse, isReady: ReadinessCheck): void {
  const ready = reasonOf(isReady);
  if (ready === true) {
    res.writeHead(200, { "content-length": 0 }).end();
    return;
  }
  res
    .writeHead(503, {
      "content-type": "text/plain; charset=UTF-8",
      "content-length": Buffer.byteLength(ready),
    })
    .end(ready);
}

export function startReadinessServer(
  isReady: ReadinessCheck,
  address: ListenAddress,
): Promise<RunningReadinessServer> {
  return listenHttp((req, res) => {
    // Like the agent's mux, any method is answered; only the path matters.
    if (splitTarget(req.url).path !== READY_PATH) {
      res
        .writeHead(404, { "content-type": "text/plain; charset=UTF-8" })
        .end("404 page not found\n");
      return;
    }
    answerReadiness(res, isReady);
  }, address);
}
