// CONNECT on the local runtime's HTTP proxy listener, as node hands it to the HCM (a raw socket):
// relay the tunnel as TCP to the route's cluster, or terminate it and serve the HTTP inside.
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import {
  LOCAL_REPLY_BODY,
  RESPONSE_CODE_DETAILS,
  ROUTE_NOT_FOUND_REPLY,
  upstreamResetReplyInput,
} from "../http/local-reply.ts";
import type { ResponseFlag } from "../http/response-flags.ts";
import { selectRoute } from "../routing/index.ts";
import type { RouteRequest } from "../routing/types.ts";
import type { LocalReplyRequest } from "./downstream.ts";
import type { ConnectionState, HcmEntry } from "./hcm-types.ts";
import { forwardableRequestHeaders } from "./headers.ts";
import { splitAuthority } from "./original-destination.ts";
import { writeRawLocalReply } from "./raw-reply.ts";
import { sniffTunnelPreface } from "./tunnel-preface.ts";

/** The local reply for a CONNECT whose upstream never connected, as Envoy's router answers it. */
function connectFailureReply(flags: readonly ResponseFlag[]): LocalReplyRequest {
  if (flags.includes("NC"))
    return { status: 503, flag: "NC", details: RESPONSE_CODE_DETAILS.clusterNotFound };
  if (flags.includes("UH"))
    return {
      status: 503,
      flag: "UH",
      details: RESPONSE_CODE_DETAILS.noHealthyUpstream,
      body: LOCAL_REPLY_BODY.noHealthyUpstream,
    };
  // The TCP proxy does not say whether a dial was refused or timed out: Envoy's body names the
  // reason, a refusal being the common case.
  return upstreamResetReplyInput(flags.includes("UO") ? "overflow" : "remote_connection_failure");
}

export interface ConnectEntry extends HcmEntry {
  /** Serves a terminated tunnel through the HCM as a connection of its own. */
  serve(socket: Socket, state: ConnectionState, http2: boolean): void;
}

export function handleConnect(
  hcm: ConnectEntry,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
): void {
  const { config, deps } = hcm;
  socket.on("error", () => {});
  const authority = req.url ?? "";
  const connectAllowed = config.upgradeConfigs.some(
    (u) => u.enabled && u.upgradeType.toUpperCase() === "CONNECT",
  );
  const routeConfig = hcm.routeTable();
  if (!connectAllowed || !routeConfig || authority === "") {
    writeRawLocalReply(socket, config, ROUTE_NOT_FOUND_REPLY);
    return;
  }
  const route: RouteRequest = {
    authority,
    path: "",
    method: "CONNECT",
    scheme: "http",
    headers: forwardableRequestHeaders(req.headers),
    sourceIp: hcm.connection?.info.sourceIp ?? socket.remoteAddress ?? "",
  };
  const selection = selectRoute(routeConfig, route, deps.random);
  if (selection.noRoute) {
    if (selection.virtualHost) terminateTunnel(hcm, socket, head, authority);
    else writeRawLocalReply(socket, config, ROUTE_NOT_FOUND_REPLY);
    return;
  }
  const action = selection.action;
  if (action.kind === "direct_response") {
    writeRawLocalReply(socket, config, { status: action.status, details: "direct_response" });
    return;
  }
  if (action.kind !== "route" || !selection.clusterName) {
    writeRawLocalReply(socket, config, ROUTE_NOT_FOUND_REPLY);
    return;
  }
  const target = splitAuthority(authority, 443);
  if (!target) {
    socket.destroy();
    return;
  }
  if (head.length > 0) socket.unshift(head);
  // Envoy answers a CONNECT only once its upstream connection is up, and 503 when none comes up:
  // a client must not start its TLS handshake into a tunnel that goes nowhere.
  // The tunnel is the TCP connection a transparently captured client would have made: it is
  // counted by the HCM's stats filters as that TCP chain's would count it.
  deps.relayTcp(
    socket,
    selection.clusterName,
    target,
    action.idleTimeoutMs,
    {
      onConnected: () => socket.write("HTTP/1.1 200 OK\r\n\r\n"),
      onConnectFailure: (flags) => {
        // Whatever the client sent already is discarded; its FIN then closes the socket.
        socket.allowHalfOpen = false;
        socket.resume();
        writeRawLocalReply(socket, config, connectFailureReply(flags));
      },
    },
    hcm.stats,
  );
}

/** A CONNECT to a known HTTP service: terminate the tunnel and run what arrives through the HCM. */
function terminateTunnel(hcm: ConnectEntry, socket: Socket, head: Buffer, authority: string): void {
  socket.write("HTTP/1.1 200 OK\r\n\r\n");
  if (head.length > 0) socket.unshift(head);
  const info = hcm.connection?.info ?? {
    destinationIp: socket.localAddress ?? "",
    destinationPort: socket.localPort ?? 0,
    transportProtocol: "raw_buffer",
    applicationProtocols: [],
    sourceIp: socket.remoteAddress ?? "",
    sourcePort: socket.remotePort ?? 0,
  };
  const tunnel: ConnectionState = { info, tunnelAuthority: authority, activeRequests: 0 };
  // gRPC and other HTTP/2 clients speak h2c with prior knowledge inside the tunnel.
  sniffTunnelPreface(socket, (h2c) => hcm.serve(socket, tunnel, h2c));
}
