// The control plane with its certificate authority: Istio's CSR API and ADS over TLS on the secure
// port, called the way an Istio agent calls them (a real CSR, a bootstrap token, the mesh root).
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Clock, manualClock } from "../base/clock.ts";
import { silentLogger } from "../base/logger.ts";
import {
  ISTIO_CA_PROTO_OPTIONS,
  ISTIO_CA_PROTO_PATH,
  type IstioCertificateResponseMessage,
} from "../ca/istio-certificate-service.ts";
import { makeCsr, removeTemporaryDirs, temporaryDir } from "../ca/test-support.ts";
import {
  ADS_SERVICE,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../xds/discovery-messages.ts";
import { CDS, Reader, request } from "../xds/server/test-support.ts";
import { type ControlPlane, startControlPlane } from "./control-plane.ts";
import { translateProxy } from "./translate/translate-proxy.ts";

const BARISTA_ID = "spiffe://cluster.local/ns/coffee/sa/barista";

interface CertificateClient extends grpc.Client {
  CreateCertificate(
    request: Record<string, unknown>,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<IstioCertificateResponseMessage>,
  ): grpc.ClientUnaryCall;
}

const clients: grpc.Client[] = [];

function certificateClient(address: string, rootPem: string, options: grpc.ChannelOptions = {}) {
  const definition = protoLoader.loadSync(ISTIO_CA_PROTO_PATH, ISTIO_CA_PROTO_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    istio: { v1: { auth: { IstioCertificateService: grpc.ServiceClientConstructor } } };
  };
  const Client = pkg.istio.v1.auth.IstioCertificateService;
  const client = new Client(address, grpc.credentials.createSsl(Buffer.from(rootPem)), options);
  clients.push(client);
  return client as unknown as CertificateClient;
}

function createCertificate(
  client: CertificateClient,
  csr: string,
  token?: string,
): Promise<{ response?: IstioCertificateResponseMessage; error?: grpc.ServiceError }> {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return new Promise((resolve) =>
    client.CreateCertificate({ csr, validity_duration: "3600" }, metadata, (error, response) =>
      resolve(error ? { error } : { response: response! }),
    ),
  );
}

async function startWithCa(dir: string, clock?: Clock): Promise<ControlPlane> {
  const config = mkdtempSync(join(tmpdir(), "crema-cp-ca-config-"));
  writeFileSync(
    join(config, "mesh.yaml"),
    "apiVersion: v1\nkind: Service\nmetadata: {name: barista, namespace: coffee}\nspec:\n  clusterIP: 10.96.0.20\n  ports: [{name: http, port: 80}]\n",
  );
  return startControlPlane({
    configPaths: [config],
    xdsAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    secureXdsAddress: "127.0.0.1:0",
    ca: { dir },
    watch: false,
    translate: translateProxy,
    logger: silentLogger(),
    ...(clock ? { clock } : {}),
  });
}

/** The certificate the TLS port presents now (not verified: a test clock may be ahead). */
async function servingCertificate(address: string): Promise<PeerCertificate> {
  const [host, port] = address.split(":");
  const socket = connect({
    host,
    port: Number(port),
    servername: "istiod.istio-system.svc",
    ALPNProtocols: ["h2"],
    rejectUnauthorized: false,
  });
  await once(socket, "secureConnect");
  const certificate = socket.getPeerCertificate();
  socket.destroy();
  return certificate;
}

let caDir: string;
let controlPlane: ControlPlane;

beforeAll(async () => {
  caDir = temporaryDir("crema-cp-ca-");
  controlPlane = await startWithCa(caDir);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await controlPlane?.close();
  removeTemporaryDirs();
});

describe("the control plane's certificate authority", () => {
  it("serves on a TLS port of its own and exposes the trust bundle", () => {
    expect(controlPlane.secureXdsAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(controlPlane.secureXdsAddress).not.toBe(controlPlane.xdsAddress);
    const root = new X509Certificate(controlPlane.caRootPem()!);
    expect(root.ca).toBe(true);
    expect(root.subject).toContain("O=cluster.local");
  });

  it("signs a workload CSR over TLS for the identity its bootstrap token names", async () => {
    const client = certificateClient(controlPlane.secureXdsAddress!, controlPlane.caRootPem()!);
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const token = await controlPlane.issueBootstrapToken("coffee", "barista");
    const { response, error } = await createCertificate(client, csrPem, token);
    expect(error).toBeUndefined();
    const chain = response!.cert_chain;
    const leaf = new X509Certificate(chain[0]!);
    const root = new X509Certificate(chain.at(-1)!);
    expect(leaf.subjectAltName).toBe(`URI:${BARISTA_ID}`);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(root.raw.equals(new X509Certificate(controlPlane.caRootPem()!).raw)).toBe(true);
  });

  it("presents a serving certificate for istiod.istio-system.svc as well as the bound address", async () => {
    const client = certificateClient(controlPlane.secureXdsAddress!, controlPlane.caRootPem()!, {
      "grpc.ssl_target_name_override": "istiod.istio-system.svc",
      "grpc.default_authority": "istiod.istio-system.svc",
    });
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const token = await controlPlane.issueBootstrapToken("coffee", "barista");
    expect((await createCertificate(client, csrPem, token)).error).toBeUndefined();
  });

  it("refuses callers without a token, or asking for another identity", async () => {
    const client = certificateClient(controlPlane.secureXdsAddress!, controlPlane.caRootPem()!);
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const anonymous = await createCertificate(client, csrPem);
    expect(anonymous.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    const other = await controlPlane.issueBootstrapToken("coffee", "cashier");
    const mismatch = await createCertificate(client, csrPem, other);
    expect(mismatch.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(mismatch.error?.details).toContain("request authenticate failure");
  });

  it("counts CSRs in Istio's citadel_server_* metrics and reports the root's expiry", async () => {
    const metrics = async () => (await fetch(`${controlPlane.httpUrl}/metrics`)).text();
    const value = (text: string, series: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    };
    const SERIES = [
      "citadel_server_csr_count",
      "citadel_server_success_cert_issuance_count",
      "citadel_server_authentication_failure_count",
      "citadel_server_csr_parsing_err_count",
      'citadel_server_csr_sign_err_count{error="CSR_ERROR"}',
    ];
    const before = await metrics();
    const client = certificateClient(controlPlane.secureXdsAddress!, controlPlane.caRootPem()!);
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const token = await controlPlane.issueBootstrapToken("coffee", "barista");
    expect((await createCertificate(client, csrPem, token)).error).toBeUndefined();
    expect((await createCertificate(client, csrPem)).error?.code).toBe(grpc.status.UNAUTHENTICATED);
    const garbage =
      "-----BEGIN CERTIFICATE REQUEST-----\nnot a CSR\n-----END CERTIFICATE REQUEST-----\n";
    expect((await createCertificate(client, garbage, token)).error?.code).toBe(
      grpc.status.INVALID_ARGUMENT,
    );
    const after = await metrics();
    expect(SERIES.map((series) => value(after, series) - value(before, series))).toEqual([
      3, 1, 1, 1, 1,
    ]);
    const root = new X509Certificate(controlPlane.caRootPem()!);
    expect(value(after, "citadel_server_root_cert_expiry_timestamp")).toBe(
      Date.parse(root.validTo) / 1000,
    );
    expect(value(after, "citadel_server_cert_chain_expiry_seconds")).toBeGreaterThan(0);
    expect(value(after, "process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it("serves ADS on the TLS port too", async () => {
    const Ads = grpc.makeGenericClientConstructor(ADS_SERVICE, "AggregatedDiscoveryService");
    const client = new Ads(
      controlPlane.secureXdsAddress!,
      grpc.credentials.createSsl(Buffer.from(controlPlane.caRootPem()!)),
    ) as unknown as grpc.Client & {
      StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
    };
    clients.push(client);
    const stream = client.StreamAggregatedResources();
    const reader = new Reader<DiscoveryResponse>(stream);
    stream.write(
      request(CDS, [], {
        node: { id: "sidecar~10.0.0.30~cashier-1.coffee~coffee.svc.cluster.local" },
      }),
    );
    const response = await reader.next();
    expect(response.type_url).toBe(CDS);
    expect(response.resources.length).toBeGreaterThan(0);
    stream.end();
  });

  it("renews its serving certificate at half its lifetime", async () => {
    const clock = manualClock(Date.now());
    const renewing = await startWithCa(temporaryDir("crema-cp-ca-renew-"), clock);
    try {
      const address = renewing.secureXdsAddress!;
      const first = await servingCertificate(address);
      expect(first.subjectaltname).toContain("DNS:istiod.istio-system.svc");
      expect(first.subjectaltname).toContain("IP Address:127.0.0.1");
      clock.advance(11 * 3600 * 1000);
      expect((await servingCertificate(address)).serialNumber).toBe(first.serialNumber);
      clock.advance(2 * 3600 * 1000);
      let renewed = first;
      for (let i = 0; i < 50 && renewed.serialNumber === first.serialNumber; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        renewed = await servingCertificate(address);
      }
      expect(renewed.serialNumber).not.toBe(first.serialNumber);
    } finally {
      await renewing.close();
    }
  });

  it("keeps its root across restarts", async () => {
    const again = await startWithCa(caDir);
    try {
      expect(again.caRootPem()).toBe(controlPlane.caRootPem());
    } finally {
      await again.close();
    }
  });
});

describe("the control plane without a certificate authority", () => {
  it("has no secure port and issues no bootstrap tokens", async () => {
    const config = mkdtempSync(join(tmpdir(), "crema-cp-noca-"));
    const plain = await startControlPlane({
      configPaths: [config],
      xdsAddress: "127.0.0.1:0",
      httpAddress: "127.0.0.1:0",
      watch: false,
      translate: translateProxy,
      logger: silentLogger(),
    });
    try {
      expect(plain.secureXdsAddress).toBeUndefined();
      expect(plain.caRootPem()).toBeUndefined();
      await expect(plain.issueBootstrapToken("coffee", "barista")).rejects.toThrow(
        /without a certificate authority/,
      );
    } finally {
      await plain.close();
    }
  });
});
