// Workload certificates from PKCS#10 CSRs, as Istio's CA signs them: the CSR's signature must
// verify and the SPIFFE identity it asks for must be the caller's own; the certificate carries
// that identity, lives 24 h unless the request asks otherwise (never beyond the maximum, 90 d),
// and comes back with the chain up to the root.
import { CertificationRequest } from "@peculiar/asn1-csr";
import { AsnConvert } from "@peculiar/asn1-schema";
import { type Clock, systemClock } from "../base/clock.ts";
import { CremaError } from "../base/errors.ts";
import { type CaBundle, issuerChain, trustBundle } from "./ca-bundle.ts";
import { type ParsedCsr, parseCsrPem, requestedSanUris } from "./csr.ts";
import { verifyCsrSignature } from "./csr-signature.ts";
import { issueLeafCertificate } from "./issue-leaf.ts";
import { validity } from "./pem.ts";
import { type CallerIdentity, DEFAULT_TRUST_DOMAIN, identityMatches, spiffeId } from "./spiffe.ts";
import { x509 } from "./x509.ts";

/** Istio's default workload certificate lifetime. */
export const DEFAULT_WORKLOAD_CERT_TTL_MS = 24 * 3600 * 1000;
/** Istio's default maximum (`MAX_WORKLOAD_CERT_TTL`): 90 days. */
export const MAX_WORKLOAD_CERT_TTL_MS = 90 * 24 * 3600 * 1000;
/** Istio back-dates notBefore by this much to tolerate clock skew between CA and workloads. */
export const CLOCK_SKEW_GRACE_MS = 2 * 60 * 1000;
export { MAX_CSR_BYTES } from "./csr.ts";

export interface SignCsrRequest {
  csrPem: string;
  /** Who asked, as the authenticator proved it. */
  caller: CallerIdentity;
  /** Requested lifetime; zero, negative or absent means the default. */
  ttlMs?: number;
}

export interface SignCsrOptions {
  trustDomain?: string;
  /** meshConfig.trustDomainAliases: a CSR may name the caller in any of these too. */
  trustDomainAliases?: readonly string[];
  defaultTtlMs?: number;
  maxTtlMs?: number;
  clock?: Clock;
}

export interface SignedCertificate {
  /** The leaf, then intermediates, then the root that issued it (each one PEM block). */
  certChain: string[];
  /** Every root workloads should trust, the issuing one first. */
  trustBundle: string[];
  /** The SPIFFE ID in the certificate's URI SAN. */
  identity: string;
  notBefore: number;
  notAfter: number;
}

/** Parses a PEM CSR and checks its self-signature. */
export async function readVerifiedCsr(csrPem: string): Promise<ParsedCsr> {
  const csr = parseCsrPem(csrPem);
  await verifyCsrSignature(csr);
  return csr;
}

/** readVerifiedCsr as @peculiar/x509's view of the request, for callers that inspect it. */
export async function verifyCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  return new x509.Pkcs10CertificateRequest((await readVerifiedCsr(csrPem)).der);
}

/** The URIs in a CSR's subjectAltName request. */
export function requestedUris(csr: ParsedCsr | x509.Pkcs10CertificateRequest): string[] {
  const request =
    csr instanceof x509.Pkcs10CertificateRequest
      ? AsnConvert.parse(csr.rawData, CertificationRequest)
      : csr.request;
  return requestedSanUris(request);
}

/** Why the requested URIs do not all name the caller; undefined when they do. */
export function identityMismatch(
  uris: readonly string[],
  caller: CallerIdentity,
  trustDomains: readonly string[],
): string | undefined {
  const expected = `spiffe://${trustDomains[0]}/ns/${caller.namespace}/sa/${caller.serviceAccount}`;
  if (uris.length === 0) {
    return `the CSR asks for no SPIFFE identity; the caller may request ${expected}`;
  }
  const foreign = uris.find((uri) => !identityMatches(uri, caller, trustDomains));
  if (foreign === undefined) return undefined;
  return `the CSR asks for ${foreign} but the caller is ${expected}`;
}

/** The lifetime to issue for, or a CREMA_CA_TTL_TOO_LONG error, as Istio decides it. */
export function certificateTtl(
  requestedMs: number | undefined,
  defaultMs: number,
  maxMs: number,
): number {
  if (requestedMs === undefined || !Number.isFinite(requestedMs) || requestedMs <= 0)
    return defaultMs;
  if (requestedMs > maxMs) {
    throw new CremaError(
      "CREMA_CA_TTL_TOO_LONG",
      `requested TTL ${requestedMs / 1000}s is greater than the max allowed TTL ${maxMs / 1000}s`,
    );
  }
  return requestedMs;
}

/** Verifies the CSR and the identity it asks for, then issues the workload certificate. */
export async function signCsr(
  bundle: CaBundle,
  request: SignCsrRequest,
  options: SignCsrOptions = {},
): Promise<SignedCertificate> {
  const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const trustDomains = [trustDomain, ...(options.trustDomainAliases ?? [])];
  const identity = spiffeId(trustDomain, request.caller.namespace, request.caller.serviceAccount);
  const csr = await readVerifiedCsr(request.csrPem);
  const mismatch = identityMismatch(requestedUris(csr), request.caller, trustDomains);
  if (mismatch) throw new CremaError("CREMA_CA_IDENTITY_MISMATCH", mismatch);
  const ttlMs = certificateTtl(
    request.ttlMs,
    options.defaultTtlMs ?? DEFAULT_WORKLOAD_CERT_TTL_MS,
    options.maxTtlMs ?? MAX_WORKLOAD_CERT_TTL_MS,
  );

  const now = (options.clock ?? systemClock()).now();
  const signer = validity(bundle.signingCert);
  if (now < signer.notBefore || now >= bundle.chainNotAfter) {
    const when = now < signer.notBefore ? "is not valid yet" : "has expired";
    throw new CremaError(
      "CREMA_CA_NOT_READY",
      `the CA's signing certificate chain ${when} (valid ${new Date(signer.notBefore).toISOString()} to ${new Date(bundle.chainNotAfter).toISOString()})`,
    );
  }
  const notBefore = Math.max(now - CLOCK_SKEW_GRACE_MS, signer.notBefore);
  const notAfter = Math.min(now + ttlMs, bundle.chainNotAfter);
  const leaf = await issueLeafCertificate(bundle, {
    publicKey: csr.spki,
    uris: [identity],
    notBefore,
    notAfter,
  });
  return {
    certChain: [leaf, ...issuerChain(bundle)],
    trustBundle: trustBundle(bundle),
    identity,
    notBefore: Math.floor(notBefore / 1000) * 1000,
    notAfter: Math.floor(notAfter / 1000) * 1000,
  };
}
