// The SPIFFE ids of a real upstream mTLS connection, read once per connection at its handshake
// (node hands a client its server's certificate out only once, and the verifier takes it).
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readerFor } from "../upstream/decode-fields.ts";
import { dial, type UpstreamTls } from "../upstream/dial.ts";
import { decodeUpstreamTransportSocket } from "./decode-tls-context.ts";
import type { TlsCertificate } from "./secret-provider.ts";
import { createTestCa, istioUpstreamTls, StaticSecrets, type TestCa } from "./testing.ts";
import { upstreamSslInfo } from "./upstream-ssl-info.ts";
import { UpstreamTlsConnector } from "./upstream-tls.ts";

const SERVER_ID = "spiffe://cluster.local/ns/shop/sa/payments";
const CLIENT_ID = "spiffe://cluster.local/ns/shop/sa/orders";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

let ca: TestCa;
let serverCert: TlsCertificate;
let clientCert: TlsCertificate;
beforeAll(async () => {
  ca = await createTestCa();
  serverCert = await ca.issue({ uris: [SERVER_ID], dnsNames: ["payments.shop"] });
  clientCert = await ca.issue({ uris: [CLIENT_ID] });
});

async function listen(server: ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => sockets.add(s));
  closers.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

function istioMutual(): UpstreamTls {
  const errors: string[] = [];
  const json = istioUpstreamTls({ sni: "outbound_.80_._.payments", identity: SERVER_ID });
  const socket = decodeUpstreamTransportSocket(readerFor(errors, json, "")!);
  if (errors.length > 0 || socket.kind !== "tls") throw new Error(errors.join("\n"));
  const connector = new UpstreamTlsConnector(StaticSecrets.workload(clientCert, ca.rootsPem));
  closers.push(() => connector.close());
  return { connector, target: { config: socket.tls, key: socket.key } };
}

describe("upstreamSslInfo", () => {
  it("gives the server's and the proxy's own first URI SAN, the same object for every stream", async () => {
    const server = createTlsServer({
      cert: serverCert.certificateChainPem,
      key: serverCert.privateKeyPem,
      ca: ca.rootsPem,
      requestCert: true,
      rejectUnauthorized: false,
    });
    server.on("secureConnection", (s: TLSSocket) => s.on("error", () => {}));
    const port = await listen(server);
    const socket = await dial({
      address: "127.0.0.1",
      port,
      connectTimeoutMs: 5000,
      tls: istioMutual(),
    });
    closers.push(() => socket.destroy());
    const info = upstreamSslInfo(socket);
    expect(info).toEqual({ peerUriSan: SERVER_ID, localUriSan: CLIENT_ID });
    expect(upstreamSslInfo(socket)).toBe(info);
  });

  it("is undefined for a plaintext connection or none", async () => {
    const port = await listen(createTcpServer());
    const socket = await dial({ address: "127.0.0.1", port, connectTimeoutMs: 5000 });
    closers.push(() => socket.destroy());
    expect(upstreamSslInfo(socket)).toBeUndefined();
    expect(upstreamSslInfo(undefined)).toBeUndefined();
  });
});
