// TLS on the HTTP port: ALPN h2 and http/1.1, client certificate URI SANs (certs via openssl).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  afterAll,
  beforeAll,
  describe,
  expect,
  it,
  onTestFinished,
  type TestContext,
} from "vitest";
import type { EchoServer } from "./server.ts";
import { closeSession, h1, h2, h2Session, json, startTestEcho } from "./test-support.ts";
import { firstUriSan } from "./tls-config.ts";

const SPIFFE_ID = "spiffe://cluster.local/ns/default/sa/test";

describe("firstUriSan", () => {
  it("finds the URI entry among others", () => {
    expect(firstUriSan(`DNS:a.example, URI:${SPIFFE_ID}, IP Address:10.0.0.1`)).toBe(SPIFFE_ID);
    expect(firstUriSan("URI:spiffe://a/b, URI:spiffe://c/d")).toBe("spiffe://a/b");
  });

  it("decodes entries Node writes as JSON strings", () => {
    expect(firstUriSan('DNS:"x, URI:spoof", URI:"spiffe://td/a,b"')).toBe("spiffe://td/a,b");
  });

  it("is null without a URI entry", () => {
    expect(firstUriSan(undefined)).toBeNull();
    expect(firstUriSan("")).toBeNull();
    expect(firstUriSan("DNS:localhost, IP Address:127.0.0.1")).toBeNull();
  });
});

interface Certs {
  dir: string;
  ca: Buffer;
  serverCert: string;
  serverKey: string;
  clientCert: Buffer;
  clientKey: Buffer;
  strangerCert: Buffer;
  strangerKey: Buffer;
}

const OPENSSL_MISSING = "the openssl command is not installed; cannot make test certificates";
const haveOpenssl = spawnSync("openssl", ["version"]).status === 0;

/** A throwaway CA, a server certificate for 127.0.0.1, and client certificates with URI SANs. */
function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), "crema-echo-tls-"));
  // Arguments are written as one string; none of them contains a space.
  const run = (command: string, ...extra: string[]) =>
    execFileSync("openssl", [...command.split(" "), ...extra], { cwd: dir, stdio: "pipe" });
  const key = (name: string) =>
    run(`genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ${name}.key`);
  const ca = (name: string) => {
    key(name);
    run(
      `req -x509 -new -key ${name}.key -out ${name}.crt -days 2 -subj /CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    );
  };
  const leaf = (name: string, signer: string, extensions: string) => {
    key(name);
    run(`req -new -key ${name}.key -out ${name}.csr -subj /CN=${name}`);
    writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\n${extensions}\n`);
    run(
      `x509 -req -in ${name}.csr -CA ${signer}.crt -CAkey ${signer}.key -days 2 -out ${name}.crt`,
      "-set_serial",
      String(Date.now()),
      "-extfile",
      `${name}.ext`,
    );
  };
  ca("ca");
  ca("other-ca");
  leaf("server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth");
  leaf("client", "ca", `subjectAltName=URI:${SPIFFE_ID}\nextendedKeyUsage=clientAuth`);
  leaf(
    "stranger",
    "other-ca",
    "subjectAltName=URI:spiffe://evil/ns/x/sa/y\nextendedKeyUsage=clientAuth",
  );
  const read = (name: string) => readFileSync(join(dir, name));
  return {
    dir,
    ca: read("ca.crt"),
    serverCert: join(dir, "server.crt"),
    serverKey: join(dir, "server.key"),
    clientCert: read("client.crt"),
    clientKey: read("client.key"),
    strangerCert: read("stranger.crt"),
    strangerKey: read("stranger.key"),
  };
}

describe("TLS on the HTTP port", () => {
  let certs: Certs | undefined;
  let server: EchoServer | undefined;

  beforeAll(async () => {
    if (!haveOpenssl) return;
    certs = makeCerts();
    server = await startTestEcho({
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, ca: certs.ca },
    });
  });

  afterAll(async () => {
    await server?.stop();
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  function ready(ctx: TestContext): { certs: Certs; server: EchoServer } {
    if (!certs || !server) return ctx.skip(OPENSSL_MISSING);
    return { certs, server };
  }

  it("speaks HTTP/1.1 when the client offers http/1.1 by ALPN", async (ctx) => {
    const { certs, server } = ready(ctx);
    expect(server.tls).toBe(true);
    const reply = await h1(server.httpPort, "/tls", {
      tls: { ca: certs.ca, ALPNProtocols: ["http/1.1"] },
    });
    expect(reply.alpnProtocol).toBe("http/1.1");
    expect(json(reply)).toMatchObject({
      protocol: "HTTP/1.1",
      tls: true,
      peerCertificateUriSan: null,
      path: "/tls",
    });
  });

  it("speaks HTTP/2 when the client offers h2 by ALPN", async (ctx) => {
    const { certs, server } = ready(ctx);
    const session = await h2Session(`https://127.0.0.1:${server.httpPort}`, { ca: certs.ca });
    onTestFinished(() => closeSession(session));
    expect(session.alpnProtocol).toBe("h2");
    const reply = await h2(session, "/tls2");
    expect(reply.headers["x-crema-pod"]).toBeDefined();
    expect(json(reply)).toMatchObject({
      protocol: "HTTP/2",
      tls: true,
      peerCertificateUriSan: null,
    });
  });

  it("reports the URI SAN of a client certificate signed by the CA", async (ctx) => {
    const { certs, server } = ready(ctx);
    const identity = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
    const overH1 = await h1(server.httpPort, "/", { tls: identity });
    expect(json(overH1)).toMatchObject({ tls: true, peerCertificateUriSan: SPIFFE_ID });
    const session = await h2Session(`https://127.0.0.1:${server.httpPort}`, identity);
    onTestFinished(() => closeSession(session));
    const overH2 = await h2(session, "/");
    expect(json(overH2)).toMatchObject({ protocol: "HTTP/2", peerCertificateUriSan: SPIFFE_ID });
  });

  it("turns away a client certificate from another CA", async (ctx) => {
    const { certs, server } = ready(ctx);
    const stranger = { ca: certs.ca, cert: certs.strangerCert, key: certs.strangerKey };
    await expect(h1(server.httpPort, "/", { tls: stranger })).rejects.toThrow();
    expect(json(await h1(server.httpPort, "/", { tls: { ca: certs.ca } })).tls).toBe(true);
  });

  it("refuses clients without a certificate when one is required", async (ctx) => {
    const { certs } = ready(ctx);
    const strict = await startTestEcho({
      tls: {
        certFile: certs.serverCert,
        keyFile: certs.serverKey,
        ca: certs.ca,
        requireClientCert: true,
      },
    });
    onTestFinished(() => strict.stop());
    await expect(h1(strict.httpPort, "/", { tls: { ca: certs.ca } })).rejects.toThrow();
    const identity = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
    expect(json(await h1(strict.httpPort, "/", { tls: identity })).peerCertificateUriSan).toBe(
      SPIFFE_ID,
    );
  });
});

describe("TLS settings", () => {
  it("fail to start with a clear error when a TLS file is missing", async () => {
    const missing = join(tmpdir(), "crema-echo-no-such-dir", "server.crt");
    await expect(
      startTestEcho({ tls: { certFile: missing, keyFile: missing } }),
    ).rejects.toMatchObject({ code: "CREMA_ECHO_TLS_CONFIG" });
  });

  it("fail to start when the certificate is not PEM", async () => {
    await expect(
      startTestEcho({ tls: { cert: "not a cert", key: "not a key" } }),
    ).rejects.toMatchObject({ code: "CREMA_ECHO_TLS_CONFIG" });
  });

  it("need a CA to require client certificates", async () => {
    await expect(
      startTestEcho({ tls: { cert: "x", key: "y", requireClientCert: true } }),
    ).rejects.toMatchObject({ code: "CREMA_ECHO_INVALID_OPTION" });
  });
});
