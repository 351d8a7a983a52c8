// Binds a small operator HTTP server (admin, readiness) and closes it with its connections.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { nodeHttp } from "../../base/node-http.ts";

const { createServer } = nodeHttp;

export interface ListenAddress {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

export interface RunningHttpServer {
  /** `http://host:port` with the bound port. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops open connections (keep-alive clients included). */
  close(): Promise<void>;
}

export type Respond = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves `respond` on `address`. A handler that throws gets a 500 rather than taking the
 * process down: these servers answer whatever an operator (or a scanner) sends them.
 */
export async function listenHttp(
  respond: Respond,
  address: ListenAddress,
): Promise<RunningHttpServer> {
  const server = createServer((req, res) => {
    req.resume(); // No endpoint reads a body; drain it so the connection can be reused.
    try {
      respond(req, res);
    } catch (error) {
      if (res.headersSent) res.destroy();
      else {
        const body = `internal error: ${error instanceof Error ? error.message : String(error)}\n`;
        res.writeHead(500, { "content-type": "text/plain; charset=UTF-8" }).end(body);
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The path and query of a request target, never throwing on odd input. */
export function splitTarget(target: string | undefined): { path: string; query: URLSearchParams } {
  const raw = target ?? "/";
  const at = raw.indexOf("?");
  return at < 0
    ? { path: raw, query: new URLSearchParams() }
    : { path: raw.slice(0, at), query: new URLSearchParams(raw.slice(at + 1)) };
}
