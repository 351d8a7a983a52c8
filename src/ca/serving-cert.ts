// The control plane's own TLS serving certificate (istiod's DNS certificate) for xDS and CSR over
// TLS on 15012: signed by the same CA, so proxies that trust the mesh root trust the control plane.
import { isIP } from "node:net";
import { type Clock, systemClock } from "../base/clock.ts";
import { CremaError } from "../base/errors.ts";
import { type CaBundle, issuerChain, trustBundle } from "./ca-bundle.ts";
import { exportPrivateKeyPem, generateKeyPair, keyAlgorithmOf } from "./crypto-keys.ts";
import { issueLeafCertificate } from "./issue-leaf.ts";
import { ISTIOD_SERVICE_HOST } from "./istiod-service-host.ts";
import { DEFAULT_WORKLOAD_CERT_TTL_MS } from "./sign-csr.ts";

export interface ServingCertificateOptions {
  /** DNS names besides istiod.istio-system.svc. */
  dnsNames?: readonly string[];
  /** IP addresses to include, for clients that dial the control plane by address. */
  ipAddresses?: readonly string[];
  /** Default 24 h, like workload certificates; capped by the CA chain's own expiry. */
  ttlMs?: number;
  clock?: Clock;
}

export interface ServingCertificate {
  /** Leaf then intermediates, concatenated: what a TLS server presents. */
  certChainPem: string;
  privateKeyPem: string;
  /** The roots clients should trust, concatenated. */
  rootCertsPem: string;
  dnsNames: string[];
  notAfter: number;
}

/** A new key pair (same kind as the CA's key, as Istio does) and a certificate for it. */
export async function issueServingCertificate(
  bundle: CaBundle,
  options: ServingCertificateOptions = {},
): Promise<ServingCertificate> {
  const dnsNames = [...new Set([ISTIOD_SERVICE_HOST, ...(options.dnsNames ?? [])])];
  const ipAddresses = [...new Set(options.ipAddresses ?? [])];
  const badIp = ipAddresses.find((ip) => isIP(ip) === 0);
  if (badIp !== undefined) {
    throw new CremaError("CREMA_BASE_INTERNAL", `'${badIp}' is not an IP address`);
  }
  const now = (options.clock ?? systemClock()).now();
  const keys = await generateKeyPair(keyAlgorithmOf(bundle.signingKey));
  const notAfter = Math.min(
    now + (options.ttlMs ?? DEFAULT_WORKLOAD_CERT_TTL_MS),
    bundle.chainNotAfter,
  );
  const leaf = await issueLeafCertificate(bundle, {
    publicKey: await crypto.subtle.exportKey("spki", keys.publicKey),
    dnsNames,
    ipAddresses,
    notBefore: now,
    notAfter,
  });
  const intermediates = issuerChain(bundle).slice(0, -1);
  return {
    certChainPem: [leaf, ...intermediates].join(""),
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    rootCertsPem: trustBundle(bundle).join(""),
    dnsNames,
    notAfter: Math.floor(notAfter / 1000) * 1000,
  };
}
