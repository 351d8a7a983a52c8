// HTTP/1.1 upgrades (WebSocket) through the router: the HCM's entry for an upgrade request node
// hands over as a raw socket (upgrade_configs, route selection), then a fresh upstream connection
// gets the upgrade request, and from then on bytes flow both ways untouched until either closes.
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import {
  LOCAL_REPLY_BODY,
  RESPONSE_CODE_DETAILS,
  ROUTE_NOT_FOUND_REPLY,
  upstreamResetReplyInput,
} from "../http/local-reply.ts";
import type { HcmConfig } from "../listener/types.ts";
import { applyRequestHeaderMutations, selectRoute } from "../routing/index.ts";
import type { RouteMatchResult } from "../routing/select-route.ts";
import type { MutableHeaders } from "../routing/types.ts";
import { clusterStats } from "../stats/stats-store.ts";
import type { DialError } from "../upstream/dial.ts";
import { dialHost } from "../upstream/dial-host.ts";
import { requestHash } from "./hash-policy.ts";
import type { HcmEntry } from "./hcm-types.ts";
import { prepareRequest } from "./prepare-request.ts";
import { writeRawLocalReply } from "./raw-reply.ts";
import type { RouterDeps } from "./router-types.ts";

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
  dialHost(cluster, host, {
    sourceAddress: deps.sourceAddress,
    stats,
    success: "connect",
    tls: deps.upstreamTls,
    http: true,
  }).then(
    (upstream) => {
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
    (failure: DialError) => {
      release();
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

/** An HTTP/1.1 upgrade: allowed by the HCM's upgrade_configs, not disabled by the route's. */
export function handleUpgrade(
  hcm: HcmEntry,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
): void {
  const { config, deps } = hcm;
  socket.on("error", () => {});
  const state = hcm.connection;
  const upgradeType = String(req.headers.upgrade ?? "").toLowerCase();
  const allowed = config.upgradeConfigs.some(
    (u) => u.enabled && u.upgradeType.toLowerCase() === upgradeType,
  );
  const prepared = prepareRequest(config, req, false, state);
  if (!prepared.ok || !allowed) {
    writeRawLocalReply(socket, config, {
      status: prepared.ok ? 403 : prepared.status,
      details: prepared.ok ? "upgrade_failed" : prepared.details,
    });
    return;
  }
  const routeConfig = hcm.routeTable();
  const selection = routeConfig ? selectRoute(routeConfig, prepared.route, deps.random) : undefined;
  if (!selection || selection.noRoute || selection.action.kind !== "route") {
    writeRawLocalReply(socket, config, ROUTE_NOT_FOUND_REPLY);
    return;
  }
  const routeUpgrades = selection.action.upgradeConfigs;
  const disabled = routeUpgrades.some(
    (u) => u.upgradeType.toLowerCase() === upgradeType && !u.enabled,
  );
  if (disabled) {
    writeRawLocalReply(socket, config, { status: 403, details: "upgrade_failed" });
    return;
  }
  applyRequestHeaderMutations(selection, prepared.headers, { requestHeaders: prepared.headers });
  proxyUpgrade(deps, config, {
    socket,
    head,
    selection,
    method: prepared.route.method,
    path: selection.pathAfterRewrite ?? prepared.route.path,
    authority: selection.hostRewrite ?? prepared.route.authority,
    headers: prepared.headers,
    upgrade: req.headers.upgrade ?? upgradeType,
  });
}
