// istiod's secure port (15012) for crema's control plane: the certificate authority (src/ca)
// answering Istio's CSR API, and the same ADS as the plaintext port, over TLS. The serving
// certificate comes from the CA itself (SANs istiod.istio-system.svc and the bound host), so a
// proxy that trusts the mesh root trusts the control plane; it is renewed at half its lifetime
// and after a root rotation. Callers authenticate with bootstrap tokens this module issues.
import { isIP } from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { Clock, TimerHandle } from "../base/clock.ts";
import type { Logger } from "../base/logger.ts";
import {
  type BootstrapTokenKey,
  issueBootstrapToken,
  loadOrCreateBootstrapTokenKey,
  verifyBootstrapToken,
} from "../ca/bootstrap-token.ts";
import type { CaBundle } from "../ca/ca-bundle.ts";
import { CertificateAuthority } from "../ca/certificate-authority.ts";
import type { CsrMonitor } from "../ca/csr-monitor.ts";
import { addIstioCertificateService, bearerTokenAuthenticator } from "../ca/csr-service.ts";
import { issueServingCertificate } from "../ca/serving-cert.ts";
import { UpdatableCertificateProvider } from "../xds/certificate-provider.ts";
import type { AdsServer } from "../xds/server/index.ts";
import { splitHostPort } from "./debug-server.ts";

export interface CaOptions {
  /** Where the self-signed CA and the bootstrap token key are kept (created when missing). */
  dir: string;
  /**
   * An operator's CA laid out as Istio's `cacerts` Secret; used when it holds `ca-key.pem`.
   * Default: `<dir>/cacerts`.
   */
  pluggedInDir?: string;
  /** Written into a new self-signed root and the identities the CA signs (default cluster.local). */
  trustDomain?: string;
}

export interface CaServerOptions {
  ca: CaOptions;
  /** host:port of the TLS gRPC server (Istio: 15012); port 0 picks a free port. */
  address: string;
  /** Served on this port too, so proxies may fetch xDS over TLS. */
  ads: AdsServer;
  logger: Logger;
  clock: Clock;
  /** How long close() waits for connections before cutting them. */
  shutdownGraceMs: number;
  monitor?: CsrMonitor;
}

export interface CaServer {
  /** The bound address, `host:port`. */
  address: string;
  /** The roots workloads should trust (PEM, concatenated; two during a root rotation). */
  rootPem(): string;
  /** The CA's current signing material and trust bundle. */
  bundle(): CaBundle;
  /** A bootstrap token the CSR API accepts for this namespace and service account. */
  issueBootstrapToken(namespace: string, serviceAccount: string): Promise<string>;
  close(): Promise<void>;
}

/** The serving certificate's names for the host the server binds: an IP SAN or a DNS SAN. */
function servingNames(host: string): { dnsNames: string[]; ipAddresses: string[] } {
  const unspecified = host === "0.0.0.0" || host === "::" || host === "";
  if (unspecified) return { dnsNames: [], ipAddresses: [] };
  return isIP(host) ? { dnsNames: [], ipAddresses: [host] } : { dnsNames: [host], ipAddresses: [] };
}

export async function startCaServer(options: CaServerOptions): Promise<CaServer> {
  const { logger, clock } = options;
  const { dir } = options.ca;
  const ca = await CertificateAuthority.load({
    pluggedInDir: options.ca.pluggedInDir ?? join(dir, "cacerts"),
    selfSignedDir: dir,
    ...(options.ca.trustDomain ? { trustDomain: options.ca.trustDomain } : {}),
    clock,
    logger,
  });
  const tokenKey: BootstrapTokenKey = await loadOrCreateBootstrapTokenKey(dir);
  const { host, port } = splitHostPort(options.address);
  const names = servingNames(host);
  const provider = new UpdatableCertificateProvider();

  let renewal: TimerHandle | undefined;
  let closed = false;
  const renew = async (reason: string): Promise<void> => {
    const serving = await issueServingCertificate(ca.bundle, { ...names, clock });
    if (closed) return;
    provider.update({
      certificateChainPem: serving.certChainPem,
      privateKeyPem: serving.privateKeyPem,
      rootsPem: serving.rootCertsPem,
    });
    if (renewal) clock.clearTimeout(renewal);
    // Renewed at half its lifetime, as workload certificates are.
    const renewInMs = Math.max(1000, (serving.notAfter - clock.now()) / 2);
    renewal = clock.setTimeout(() => {
      renew("renewal").catch((error: unknown) =>
        logger.error({ err: error }, "CA: renewing the control plane's serving certificate failed"),
      );
    }, renewInMs);
    logger.debug(
      { reason, dnsNames: serving.dnsNames, notAfter: new Date(serving.notAfter).toISOString() },
      "CA: issued the control plane's serving certificate",
    );
  };
  await renew("start");

  const offBundleChange = ca.onBundleChange((bundle) => {
    // Proxies learn new roots through SDS (ROOTCA), which arrives later; until then they keep the
    // roots they were given, which the overlap in the trust bundle keeps valid.
    logger.info(
      { roots: bundle.rootsPem.length, mode: bundle.mode },
      "CA: the trust bundle changed (root rotation); proxies are not sent the new roots yet",
    );
    renew("root rotation").catch((error: unknown) =>
      logger.error({ err: error }, "CA: reissuing the serving certificate after rotation failed"),
    );
  });
  const stopRotation = ca.startRootRotation();

  const server = new grpc.Server();
  addIstioCertificateService(server, {
    ca,
    authenticate: bearerTokenAuthenticator((token) =>
      verifyBootstrapToken(token, tokenKey, { clock }),
    ),
    ...(options.ca.trustDomain ? { trustDomain: options.ca.trustDomain } : {}),
    clock,
    logger,
    ...(options.monitor ? { monitor: options.monitor } : {}),
  });
  options.ads.bind(server);
  // One provider for both the identity and the roots: client certificates are asked for and
  // checked against the mesh roots when given, never required (Istio's VerifyClientCertIfGiven).
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    provider,
    false,
  );
  const hostPart = host.includes(":") ? `[${host}]` : host;
  let boundPort: number;
  try {
    boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${hostPart}:${port}`, credentials, (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
  } catch (error) {
    closed = true;
    if (renewal) clock.clearTimeout(renewal);
    offBundleChange();
    stopRotation();
    throw error;
  }
  logger.info(
    { address: `${hostPart}:${boundPort}`, mode: ca.mode, roots: ca.trustBundle().length },
    "CA: serving the CSR API and xDS over TLS",
  );

  return {
    address: `${hostPart}:${boundPort}`,
    rootPem: () => ca.trustBundle().join(""),
    bundle: () => ca.bundle,
    issueBootstrapToken: (namespace, serviceAccount) =>
      issueBootstrapToken(tokenKey, { namespace, serviceAccount }, { clock }),
    async close() {
      closed = true;
      if (renewal) clock.clearTimeout(renewal);
      offBundleChange();
      stopRotation();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, options.shutdownGraceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
