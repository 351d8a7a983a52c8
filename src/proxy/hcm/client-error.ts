// The HCM's answer to an HTTP/1.1 codec error node reports as "clientError" (malformed request,
// headers too large, request or headers timeout), written raw as no response object exists.
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { LOCAL_REPLY_BODY } from "../http/local-reply.ts";
import type { HcmConfig } from "../listener/types.ts";
import { writeRawLocalReply } from "./raw-reply.ts";

export function answerClientError(
  err: NodeJS.ErrnoException,
  socket: Duplex,
  config: HcmConfig,
): void {
  if (
    !socket.writable ||
    (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent
  ) {
    socket.destroy();
    return;
  }
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    // request_timeout (or the headers timeout) expired: Envoy answers 408, not a codec error.
    writeRawLocalReply(socket, config, {
      status: 408,
      body: LOCAL_REPLY_BODY.requestTimeout,
      details: "request_overall_timeout",
    });
    return;
  }
  const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
  writeRawLocalReply(socket, config, {
    status: tooLarge ? 431 : 400,
    // Envoy's HTTP/1 codec answers protocol errors with the status text as the body.
    body: tooLarge ? "Request Header Fields Too Large" : "Bad Request",
    details: "codec_error",
    flag: "DPE",
  });
}
