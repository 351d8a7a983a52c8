// Envoy's x-forwarded-client-cert (ConnectionManagerUtility::mutateXfccRequestHeader): what the
// HCM's forward_client_cert_details does with the header, and the element it builds from the
// TLS connection for SANITIZE_SET / APPEND_FORWARD —
// `By=<local URI SAN>;Hash=<sha256 of the peer certificate>[;Cert="…"][;Chain="…"][;Subject="…"][;URI=…][;DNS=…]`.
import { createHash, type X509Certificate } from "node:crypto";
import type { DownstreamTlsInfo, HcmConfig } from "../listener/types.ts";
import type { MutableHeaders } from "../routing/types.ts";
import { parseSubjectAltNames } from "../tls/peer-certificate.ts";
import { firstValue } from "./headers.ts";

export const XFCC = "x-forwarded-client-cert";

/** PEM as Envoy url-encodes it for Cert= and Chain= (newlines, spaces, `+`, `/`, `=`). */
function urlEncodedPem(certificates: readonly X509Certificate[]): string {
  return encodeURIComponent(certificates.map((c) => c.toString()).join(""));
}

/** The peer certificate and the issuers it sent, leaf first. */
function peerChain(leaf: X509Certificate): X509Certificate[] {
  const chain = [leaf];
  let current: X509Certificate | undefined = leaf.issuerCertificate;
  while (current && !chain.some((c) => c.fingerprint256 === current?.fingerprint256)) {
    chain.push(current);
    current = current.issuerCertificate;
  }
  return chain;
}

/** One connection's element for a set of details; a connection keeps its answer. */
const elements = new WeakMap<DownstreamTlsInfo, { key: string; value: string }>();

function currentElement(config: HcmConfig, tls: DownstreamTlsInfo): string {
  const set = config.setCurrentClientCertDetails;
  const key = `${set.cert}${set.chain}${set.subject}${set.uri}${set.dns}`;
  const cached = elements.get(tls);
  if (cached?.key === key) return cached.value;
  const details: string[] = [];
  for (const uri of parseSubjectAltNames(tls.localCertificate?.subjectAltName).uri)
    details.push(`By=${uri}`);
  const peer = tls.peerCertificate;
  if (peer) details.push(`Hash=${createHash("sha256").update(peer.raw).digest("hex")}`);
  // Envoy's order: Cert, Chain, Subject, URI, DNS.
  if (set.cert && peer) details.push(`Cert="${urlEncodedPem([peer])}"`);
  if (set.chain && peer) details.push(`Chain="${urlEncodedPem(peerChain(peer))}"`);
  // Subject and URI are present even when empty.
  if (set.subject) details.push(`Subject="${tls.subject}"`);
  if (set.uri) {
    if (tls.uriSans.length === 0) details.push("URI=");
    for (const uri of tls.uriSans) details.push(`URI=${uri}`);
  }
  if (set.dns) for (const dns of tls.dnsSans) details.push(`DNS=${dns}`);
  const value = details.join(";");
  elements.set(tls, { key, value });
  return value;
}

/** Applies forward_client_cert_details to a request's headers. */
export function mutateForwardedClientCert(
  config: HcmConfig,
  headers: MutableHeaders,
  tls: DownstreamTlsInfo | undefined,
): void {
  const mode = config.forwardClientCertDetails;
  if (mode === "ALWAYS_FORWARD_ONLY") return;
  // Without a client certificate (plaintext or one-way TLS) the header is never trusted.
  if (mode === "SANITIZE" || !tls?.peerCertificatePresented) {
    delete headers[XFCC];
    return;
  }
  if (mode === "FORWARD_ONLY") return;
  const element = currentElement(config, tls);
  const existing = firstValue(headers[XFCC]);
  headers[XFCC] = mode === "APPEND_FORWARD" && existing ? `${existing},${element}` : element;
}
