// common_http_protocol_options.idle_timeout for an HTTP/2 connection the HCM serves: once no
// stream has been active for that long, Envoy sends GOAWAY and closes it. (HTTP/1.1 gets node's
// keepAliveTimeout.)
import type { Http2Session } from "node:http2";
import { setTimeoutMs } from "../../base/timer.ts";

export function armHttp2IdleTimeout(session: Http2Session, idleTimeoutMs: number): void {
  let active = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeoutMs(() => {
      // close() sends GOAWAY and ends the connection, as no stream is left to finish.
      if (active === 0 && !session.closed) session.close();
    }, idleTimeoutMs);
    timer?.unref();
  };
  session.on("stream", (stream) => {
    active++;
    if (timer) clearTimeout(timer);
    timer = undefined;
    stream.once("close", () => {
      if (--active === 0 && !session.closed && !session.destroyed) arm();
    });
  });
  session.once("close", () => {
    if (timer) clearTimeout(timer);
  });
  arm();
}
