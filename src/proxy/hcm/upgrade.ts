// HTTP/1.1 upgrades (WebSocket) through the router: once routed, a fresh upstream connection gets
// the upgrade request, and from then on bytes flow both ways untouched until either side closes.
import type { Socket } from "node:net";
import {
  LOCAL_REPLY_BODY,
  RESPONSE_CODE_DETAILS,
  upstreamResetReplyInput,
} from "../http/local-reply.ts";
import type { HcmConfig } from "../listener/types.ts";
import type { RouteMatchResult } from "../routing/select-route.ts";
import type { MutableHeaders } from "../routing/types.ts";
import { clusterStats } from "../stats/stats-store.ts";
import { DialError, dial } from "../upstream/dial.ts";
import { requestHash } from "./hash-policy.ts";
import { writeRawLocalReply } from "./raw-reply.ts";
import type { RouterDeps } from "./router.ts";

export interface UpgradeRequest {
  socket: Socket;
  head: Buffer;
  selection: RouteMatchResult;
  method: string;
  path: string;
  authority: string;
  headers: MutableHeaders;
  upgrade: string;
}

function requestHead(req: UpgradeRequest): string {
  let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${req.authority}\r\nconnection: Upgrade\r\nupgrade: ${req.upgrade}\r\n`;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  return `${head}\r\n`;
}

export function proxyUpgrade(deps: RouterDeps, config: HcmConfig, req: UpgradeRequest): void {
  const { socket, selection } = req;
  const action = selection.action;
  const clusterName = selection.clusterName;
  const cluster = clusterName ? deps.clusters.cluster(clusterName) : undefined;
  if (action.kind !== "route" || !cluster) {
    writeRawLocalReply(socket, config, {
      status: 503,
      flag: "NC",
      details: RESPONSE_CODE_DETAILS.clusterNotFound,
    });
    return;
  }
  const hash = requestHash(action.hashPolicies, {
    authority: req.authority,
    path: req.path,
    method: req.method,
    scheme: "http",
    headers: req.headers,
  });
  const host = cluster.hostSet
    ? cluster.lb?.pick(hash !== undefined ? { hash } : undefined)
    : undefined;
  if (!host) {
    writeRawLocalReply(socket, config, {
      status: 503,
      flag: "UH",
      details: RESPONSE_CODE_DETAILS.noHealthyUpstream,
      body: LOCAL_REPLY_BODY.noHealthyUpstream,
    });
    return;
  }
  const stats = clusterStats(deps.stats, cluster.config.name);
  stats.upstreamRqTotal.inc();
  cluster.lb?.onRequestStart(host);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    cluster.lb?.onRequestEnd(host);
  };
  socket.pause();
  const bind = cluster.config.upstreamBindAddress?.address ?? deps.sourceAddress;
  dial({
    address: host.address,
    port: host.port,
    connectTimeoutMs: cluster.config.connectTimeoutMs,
    ...(bind ? { localAddress: bind } : {}),
  }).then(
    (upstream) => {
      cluster.outlierDetector?.onResult(host, { localOriginSuccess: "connect" });
      upstream.on("error", () => socket.destroy());
      socket.on("error", () => upstream.destroy());
      upstream.once("close", () => {
        release();
        socket.destroy();
      });
      socket.once("close", () => upstream.destroy());
      upstream.write(requestHead(req));
      if (req.head.length > 0) upstream.write(req.head);
      upstream.pipe(socket);
      socket.pipe(upstream);
      socket.resume();
    },
    (err: unknown) => {
      release();
      stats.upstreamCxConnectFail.inc();
      cluster.outlierDetector?.onResult(host, { localOriginFailure: "connect" });
      const failure =
        err instanceof DialError ? err : new DialError("remote_connection_failure", String(err));
      writeRawLocalReply(
        socket,
        config,
        upstreamResetReplyInput(failure.reason, {
          transportFailureReason: failure.transportFailureReason,
        }),
      );
    },
  );
}
