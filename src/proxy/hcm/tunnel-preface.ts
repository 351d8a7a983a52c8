// Which codec a terminated CONNECT tunnel carries: HTTP/2 with prior knowledge (gRPC, h2c
// clients behind HTTP_PROXY) or HTTP/1.x, told apart by the tunnel's first bytes.
import type { Duplex } from "node:stream";
import { detectHttp } from "../listener/detect-http.ts";

/**
 * Reads a terminated tunnel's first bytes until they show the HTTP/2 preface or rule it out, then
 * puts them back. The tunnel is an HTTP port's, so the client always speaks first.
 */
export function sniffTunnelPreface(socket: Duplex, done: (h2c: boolean) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  const finish = (h2c: boolean): void => {
    socket.removeListener("data", onData);
    socket.removeListener("end", onEnd);
    socket.pause();
    if (buffered.length > 0) socket.unshift(buffered);
    done(h2c);
  };
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const detected = detectHttp(buffered);
    // Synchronously, inside this "data" callback: paused, the stream's flow loop stops here, so
    // the bytes put back reach the codec that takes the socket next.
    if (detected !== "need-more") finish(detected === "h2c");
  };
  // Closed before the bytes could say which: no request can be in them, so nothing to serve.
  const onEnd = (): void => {
    socket.removeListener("data", onData);
    socket.destroy();
  };
  socket.on("data", onData);
  socket.once("end", onEnd);
  socket.resume();
}
