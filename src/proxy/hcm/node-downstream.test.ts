// NodeDownstream local replies over real HTTP/2: a gRPC request gets a trailers-only answer (one
// HEADERS frame with END_STREAM carrying grpc-status), anything else headers and a body.

import { once } from "node:events";
import {
  type ClientHttp2Session,
  connect,
  constants,
  createServer,
  type Http2Server,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
} from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newStreamInfo } from "../http/stream-info.ts";
import type { HcmConfig } from "../listener/types.ts";
import { NodeDownstream } from "./node-downstream.ts";
import { connectionStreamFields } from "./stream-record.ts";

const CONFIG = { serverName: "envoy", serverHeaderTransformation: "OVERWRITE" } as HcmConfig;
let server: Http2Server;
let client: ClientHttp2Session;

beforeAll(async () => {
  server = createServer();
  server.on("request", (req, res: Http2ServerResponse) => {
    const grpc = String(req.headers["content-type"]).startsWith("application/grpc");
    const downstream = new NodeDownstream(
      res,
      CONFIG,
      { http2: true, grpc, head: false },
      newStreamInfo({ ...connectionStreamFields(undefined), protocol: "HTTP/2" }),
    );
    downstream.sendLocalReply({ status: 503, flag: "UH", body: "no healthy upstream" });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  client = connect(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
});

afterAll(async () => {
  client.close();
  await new Promise((resolve) => server.close(resolve));
});

function call(
  headers: Record<string, string>,
): Promise<{ headers: IncomingHttpHeaders; endStream: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = client.request({ ":path": "/svc/Method", ":method": "POST", ...headers });
    let head: IncomingHttpHeaders = {};
    let endStream = false;
    let body = "";
    stream.on("response", (h, flags) => {
      head = h;
      endStream = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    stream.setEncoding("utf8");
    stream.on("data", (c: string) => {
      body += c;
    });
    stream.on("end", () => resolve({ headers: head, endStream, body }));
    stream.on("error", reject);
    stream.end();
  });
}

describe("NodeDownstream local replies on HTTP/2", () => {
  it("answers a gRPC request trailers-only, so the client reads grpc-status", async () => {
    const reply = await call({ "content-type": "application/grpc" });
    expect(reply.endStream).toBe(true);
    expect(reply.headers[":status"]).toBe(200);
    expect(reply.headers["grpc-status"]).toBe("14");
    expect(reply.headers["grpc-message"]).toBe("no healthy upstream");
    expect(reply.headers.server).toBe("envoy");
    expect(reply.body).toBe("");
  });

  it("answers other requests with headers and a body", async () => {
    const reply = await call({ "content-type": "application/json" });
    expect(reply.endStream).toBe(false);
    expect(reply.headers[":status"]).toBe(503);
    expect(reply.body).toBe("no healthy upstream");
  });
});
