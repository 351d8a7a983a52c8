// A local reply written straight onto a socket, for the moments no HTTP response object exists:
// codec errors, and upgrade/CONNECT requests node hands over as raw sockets. The connection closes.

import type { Duplex } from "node:stream";
import { nodeHttp } from "../../base/node-http.ts";
import { localReply } from "../http/local-reply.ts";
import type { HcmConfig } from "../listener/types.ts";
import type { LocalReplyRequest } from "./downstream.ts";
import { applyServerHeader } from "./node-downstream.ts";

const { STATUS_CODES } = nodeHttp;

export function writeRawLocalReply(
  socket: Duplex,
  config: HcmConfig,
  input: LocalReplyRequest,
): void {
  const reply = localReply({ ...input, grpc: false });
  const headers: Record<string, string | string[] | undefined> = { ...reply.headers };
  applyServerHeader(config, headers);
  headers["content-length"] = String(Buffer.byteLength(reply.body));
  headers.connection = "close";
  let head = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? "Unknown"}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`${head}\r\n${reply.body}`);
}
