// For the agent's tests: crema's real CA (self-signed root, Istio's CSR API over TLS with the
// control plane's serving certificate) on a loopback port, and bootstrap tokens it accepts.
import * as grpc from "@grpc/grpc-js";
import type { Clock } from "../../base/clock.ts";
import {
  type BootstrapTokenKey,
  generateBootstrapTokenKey,
  issueBootstrapToken,
  verifyBootstrapToken,
} from "../../ca/bootstrap-token.ts";
import type { CaBundle } from "../../ca/ca-bundle.ts";
import { addIstioCertificateService, bearerTokenAuthenticator } from "../../ca/csr-service.ts";
import { createSelfSignedCa } from "../../ca/root-ca.ts";
import { issueServingCertificate } from "../../ca/serving-cert.ts";
import type { CallerIdentity } from "../../ca/spiffe.ts";

export interface TestCa {
  bundle: CaBundle;
  /** The root, as a proxy's --ca-root-cert file holds it. */
  rootPem: string;
  tokenKey: BootstrapTokenKey;
  token(identity: CallerIdentity): Promise<string>;
  /** Serves the CSR API over TLS on 127.0.0.1 (`port` 0 picks one); returns HOST:PORT. */
  serve(options?: { port?: number; clock?: Clock; dnsOnly?: boolean }): Promise<string>;
  /** Stops every server it started. */
  close(): void;
}

function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials) {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(address, credentials, (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
}

export async function startTestCa(): Promise<TestCa> {
  const bundle = await createSelfSignedCa();
  const tokenKey = await generateBootstrapTokenKey();
  const servers: grpc.Server[] = [];
  return {
    bundle,
    rootPem: bundle.rootsPem.join(""),
    tokenKey,
    token: (identity) => issueBootstrapToken(tokenKey, identity),
    async serve(options = {}) {
      // dnsOnly: a certificate for istiod.istio-system.svc alone, which 127.0.0.1 does not match.
      const serving = await issueServingCertificate(bundle, {
        ipAddresses: options.dnsOnly ? [] : ["127.0.0.1"],
      });
      const server = new grpc.Server();
      addIstioCertificateService(server, {
        ca: { bundle },
        authenticate: bearerTokenAuthenticator((token) => verifyBootstrapToken(token, tokenKey)),
        ...(options.clock ? { clock: options.clock } : {}),
      });
      servers.push(server);
      const credentials = grpc.ServerCredentials.createSsl(null, [
        {
          private_key: Buffer.from(serving.privateKeyPem),
          cert_chain: Buffer.from(serving.certChainPem),
        },
      ]);
      const port = await bind(server, `127.0.0.1:${options.port ?? 0}`, credentials);
      return `127.0.0.1:${port}`;
    },
    close() {
      for (const server of servers.splice(0)) server.forceShutdown();
    },
  };
}
