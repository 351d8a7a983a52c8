// The agent's side of Istio's CSR API: one `istio.v1.auth.IstioCertificateService/CreateCertificate`
// call over TLS, with the token as `authorization: Bearer …`, as pilot-agent's Citadel client
// makes it. Each call reads the token and the CA's roots afresh (a projected token or a root file
// may be replaced while the proxy runs) and uses its own channel, closed when the call ends.
import { isIP } from "node:net";
import * as grpc from "@grpc/grpc-js";
import {
  type IstioCertificateRequestMessage,
  type IstioCertificateResponseMessage,
  loadIstioCertificateService,
} from "../../ca/istio-certificate-service.ts";
import { ISTIOD_SERVICE_HOST } from "../../ca/istiod-service-host.ts";

export interface CsrRequest {
  csrPem: string;
  /** The lifetime asked for (SECRET_TTL). */
  ttlMs: number;
}

/** Asks a CA to sign a CSR; resolves with its `cert_chain`, rejects with why it could not. */
export type CertificateSigner = (request: CsrRequest) => Promise<string[]>;

export interface IstioCaClientOptions {
  /** The CA's HOST:PORT (pilot-agent's CA_ADDR). */
  address: string;
  /** The roots the CA's serving certificate chains to (PEM); undefined trusts the system's roots. */
  caRoots: () => Promise<string | undefined>;
  /** The name the CA's certificate must carry (ISTIOD_SAN); default from the address. */
  serverName?: string;
  /** The bearer token the CA authenticates the workload with. */
  token: () => Promise<string>;
  /** Deadline of one call; default 10 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

interface CertificateClient extends grpc.Client {
  CreateCertificate(
    request: IstioCertificateRequestMessage,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<IstioCertificateResponseMessage>,
  ): grpc.ClientUnaryCall;
}

/**
 * The name to verify the CA's certificate against: ISTIOD_SAN when set; the address's host when it
 * is a DNS name; otherwise (an IP address, or `localhost` as pilot-agent treats a port-forward)
 * `istiod.istio-system.svc`, the name crema's control plane certificate always carries.
 * pilot-agent would check an IP address against the certificate's IP SANs; Node refuses an IP
 * as the TLS server name (RFC 6066), so crema checks the service name instead.
 */
export function caServerName(address: string, istiodSan?: string): string {
  if (istiodSan) return istiodSan;
  const host = address.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  return isIP(host) !== 0 || host.includes("localhost") ? ISTIOD_SERVICE_HOST : host;
}

function describeCallError(error: grpc.ServiceError): Error {
  const code = grpc.status[error.code] ?? String(error.code);
  return new Error(`${code}: ${error.details || error.message}`, { cause: error });
}

/** A CertificateSigner that calls Istio's CSR API. */
export function istioCaSigner(options: IstioCaClientOptions): CertificateSigner {
  const Client = grpc.makeGenericClientConstructor(
    loadIstioCertificateService(),
    "IstioCertificateService",
  ) as unknown as new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options: grpc.ChannelOptions,
  ) => CertificateClient;
  const serverName = caServerName(options.address, options.serverName);
  const channelOptions: grpc.ChannelOptions = {
    "grpc.ssl_target_name_override": serverName,
    "grpc.default_authority": serverName,
  };
  return async (request) => {
    const roots = await options.caRoots();
    const token = (await options.token()).trim();
    const credentials = grpc.credentials.createSsl(roots === undefined ? null : Buffer.from(roots));
    const client = new Client(options.address, credentials, channelOptions);
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    const message: IstioCertificateRequestMessage = {
      csr: request.csrPem,
      validity_duration: String(Math.max(1, Math.round(request.ttlMs / 1000))),
    };
    try {
      return await new Promise<string[]>((resolve, reject) => {
        client.CreateCertificate(
          message,
          metadata,
          { deadline: Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS) },
          (error, response) => {
            if (error) reject(describeCallError(error));
            else resolve([...(response?.cert_chain ?? [])]);
          },
        );
      });
    } finally {
      client.close();
    }
  };
}
