// The CSR API on a real grpc-js server on loopback, called the way an Istio agent calls it.
import { X509Certificate } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BootstrapTokenKey,
  generateBootstrapTokenKey,
  issueBootstrapToken,
  verifyBootstrapToken,
} from "./bootstrap-token.ts";
import type { CaBundle } from "./ca-bundle.ts";
import { addIstioCertificateService, bearerTokenAuthenticator } from "./csr-service.ts";
import {
  ISTIO_CA_PROTO_OPTIONS,
  ISTIO_CA_PROTO_PATH,
  type IstioCertificateResponseMessage,
} from "./istio-certificate-service.ts";
import { ISTIOD_SERVICE_HOST } from "./istiod-service-host.ts";
import { createSelfSignedCa } from "./root-ca.ts";
import { rotateSelfSignedRoot } from "./root-rotation.ts";
import { issueServingCertificate } from "./serving-cert.ts";
import { MAX_CSR_BYTES } from "./sign-csr.ts";
import { makeCsr } from "./test-support.ts";

const BARISTA = { namespace: "coffee", serviceAccount: "barista" };
const BARISTA_ID = "spiffe://cluster.local/ns/coffee/sa/barista";
const METHOD = "/istio.v1.auth.IstioCertificateService/CreateCertificate";

interface CertificateClient extends grpc.Client {
  CreateCertificate(
    request: Record<string, unknown>,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<IstioCertificateResponseMessage>,
  ): grpc.ClientUnaryCall;
}

/** A client built from the same .proto, as any Istio-speaking client would build one. */
function newClient(
  port: number,
  credentials: grpc.ChannelCredentials,
  options: grpc.ChannelOptions = {},
): CertificateClient {
  const definition = protoLoader.loadSync(ISTIO_CA_PROTO_PATH, ISTIO_CA_PROTO_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    istio: { v1: { auth: { IstioCertificateService: grpc.ServiceClientConstructor } } };
  };
  const Client = pkg.istio.v1.auth.IstioCertificateService;
  const client = new Client(`127.0.0.1:${port}`, credentials, options);
  clients.push(client);
  return client as unknown as CertificateClient;
}

function bind(server: grpc.Server, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
}

function call(
  client: CertificateClient,
  request: Record<string, unknown>,
  token?: string,
): Promise<{ response?: IstioCertificateResponseMessage; error?: grpc.ServiceError }> {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return new Promise((resolve) => {
    client.CreateCertificate(request, metadata, (error, response) =>
      resolve(error ? { error } : { response: response! }),
    );
  });
}

let ca: { bundle: CaBundle };
let tokenKey: BootstrapTokenKey;
let token: string;
const servers: grpc.Server[] = [];
const clients: grpc.Client[] = [];

function startServer(
  options: Partial<Parameters<typeof addIstioCertificateService>[1]> = {},
): grpc.Server {
  const server = new grpc.Server();
  addIstioCertificateService(server, {
    ca,
    authenticate: bearerTokenAuthenticator((t) => verifyBootstrapToken(t, tokenKey)),
    ...options,
  });
  servers.push(server);
  return server;
}

async function insecureClient(
  options: Partial<Parameters<typeof addIstioCertificateService>[1]> = {},
): Promise<CertificateClient> {
  const port = await bind(startServer(options), grpc.ServerCredentials.createInsecure());
  return newClient(port, grpc.credentials.createInsecure());
}

beforeAll(async () => {
  ca = { bundle: await createSelfSignedCa() };
  tokenKey = await generateBootstrapTokenKey();
  token = await issueBootstrapToken(tokenKey, BARISTA);
});

afterAll(() => {
  for (const client of clients) client.close();
  for (const server of servers) server.forceShutdown();
});

describe("IstioCertificateService/CreateCertificate", () => {
  it("signs the caller's CSR and answers [leaf, root], one PEM each", async () => {
    const client = await insecureClient();
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const { response, error } = await call(client, { csr: csrPem, validity_duration: 3600 }, token);
    expect(error).toBeUndefined();
    const chain = response!.cert_chain;
    expect(chain).toHaveLength(2);
    expect(chain[1]).toBe(ca.bundle.signingCertPem);
    for (const pem of chain) expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]*\n$/);
    const leaf = new X509Certificate(chain[0]!);
    const root = new X509Certificate(chain[1]!);
    expect(leaf.subjectAltName).toBe(`URI:${BARISTA_ID}`);
    expect(leaf.checkIssued(root) && leaf.verify(root.publicKey)).toBe(true);
    const lifetime = leaf.validToDate.getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(3500_000);
    expect(lifetime).toBeLessThanOrEqual(3600_000);
  });

  it("answers every trusted root during a rotation, the issuing root last", async () => {
    const rotated = await rotateSelfSignedRoot(ca.bundle, { newKey: true });
    const client = await insecureClient({ ca: { bundle: rotated } });
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const { response } = await call(client, { csr: csrPem }, token);
    expect(response!.cert_chain.slice(1)).toEqual([
      ca.bundle.signingCertPem,
      rotated.signingCertPem,
    ]);
  });

  it("refuses callers without a valid token: UNAUTHENTICATED", async () => {
    const client = await insecureClient();
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const missing = await call(client, { csr: csrPem });
    expect(missing.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(missing.error?.details).toBe(
      "request authenticate failure: no bearer token in the authorization metadata",
    );
    const foreignKey = await generateBootstrapTokenKey();
    const forged = await issueBootstrapToken(foreignKey, BARISTA);
    const refused = await call(client, { csr: csrPem }, forged);
    expect(refused.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(refused.error?.details).toContain("not signed by this control plane");
  });

  it("refuses a CSR for another identity: UNAUTHENTICATED, as Istio", async () => {
    const client = await insecureClient();
    const { csrPem } = await makeCsr({ uris: ["spiffe://cluster.local/ns/coffee/sa/payment"] });
    const { error } = await call(client, { csr: csrPem }, token);
    expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(error?.details).toBe(
      `request authenticate failure: the CSR asks for spiffe://cluster.local/ns/coffee/sa/payment but the caller is ${BARISTA_ID}`,
    );
  });

  it("refuses impersonation through metadata, as Istio without trusted node accounts", async () => {
    const client = await insecureClient();
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const metadata = {
      fields: {
        ImpersonatedIdentity: { stringValue: "spiffe://cluster.local/ns/coffee/sa/payment" },
      },
    };
    const { error } = await call(client, { csr: csrPem, metadata }, token);
    expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(error?.details).toMatch(/^request impersonation authentication failure/);
  });

  it("answers INVALID_ARGUMENT to missing, garbage and huge CSRs and too-long TTLs", async () => {
    const client = await insecureClient();
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const cases: Record<string, unknown>[] = [
      {},
      { csr: "" },
      { csr: "not a csr" },
      {
        csr: `-----BEGIN CERTIFICATE REQUEST-----\n${"QUFB".repeat(MAX_CSR_BYTES / 2)}\n-----END CERTIFICATE REQUEST-----\n`,
      },
      { csr: csrPem, validity_duration: 91 * 24 * 3600 },
      { csr: csrPem, validity_duration: "9223372036854775807" },
    ];
    for (const request of cases) {
      const { error } = await call(client, request, token);
      expect(error?.code, JSON.stringify(request).slice(0, 80)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error?.details).toMatch(/^CSR signing error \(/);
    }
    // A negative validity means "the default", as in Istio.
    expect(
      (await call(client, { csr: csrPem, validity_duration: -5 }, token)).response,
    ).toBeDefined();
  });

  it("survives bytes that are not a protobuf message, and a throwing authenticator", async () => {
    const client = await insecureClient({
      authenticate: () => {
        throw new Error("boom");
      },
    });
    const raw = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.makeUnaryRequest(
        METHOD,
        () => Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
        (bytes: Buffer) => bytes,
        {},
        (error) => resolve(error),
      );
    });
    expect(raw?.code).toBeDefined();
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const { error } = await call(client, { csr: csrPem }, token);
    expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(error?.details).toBe(
      "request authenticate failure: the credentials could not be checked",
    );
  });

  it("serves over TLS with the control plane's serving certificate, trusted through the root", async () => {
    const serving = await issueServingCertificate(ca.bundle, { ipAddresses: ["127.0.0.1"] });
    const server = startServer();
    const port = await bind(
      server,
      grpc.ServerCredentials.createSsl(null, [
        {
          private_key: Buffer.from(serving.privateKeyPem),
          cert_chain: Buffer.from(serving.certChainPem),
        },
      ]),
    );
    const client = newClient(
      port,
      grpc.credentials.createSsl(Buffer.from(ca.bundle.rootsPem.join(""))),
      {
        "grpc.ssl_target_name_override": ISTIOD_SERVICE_HOST,
        "grpc.default_authority": ISTIOD_SERVICE_HOST,
      },
    );
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const { response, error } = await call(client, { csr: csrPem }, token);
    expect(error).toBeUndefined();
    expect(new X509Certificate(response!.cert_chain[0]!).subjectAltName).toBe(`URI:${BARISTA_ID}`);

    const stranger = await createSelfSignedCa();
    const distrustful = newClient(
      port,
      grpc.credentials.createSsl(Buffer.from(stranger.signingCertPem)),
      { "grpc.ssl_target_name_override": ISTIOD_SERVICE_HOST },
    );
    const refused = await call(distrustful, { csr: csrPem }, token);
    expect(refused.error?.code).toBe(grpc.status.UNAVAILABLE);
  });
});
