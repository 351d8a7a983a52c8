// Server-side TLS settings (Gateway servers and Sidecar ingress listeners), checked as Istio's
// validateTLSOptions does: which certificate sources each mode needs or forbids, the CA needed
// for mutual TLS, CRLs, and warnings for cipher suites Envoy would ignore.
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { type Obj, objects } from "./rules.ts";

/** Cipher suites Istio passes to Envoy (BoringSSL names, `bssl ciphers -openssl-name ALL`). */
const CIPHER_SUITES = new Set([
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES128-SHA",
  "ECDHE-RSA-AES128-SHA",
  "ECDHE-ECDSA-AES256-SHA",
  "ECDHE-RSA-AES256-SHA",
  "AES128-GCM-SHA256",
  "AES256-GCM-SHA384",
  "AES128-SHA",
  "AES256-SHA",
  "DES-CBC3-SHA",
]);

const VERSION_RANK: Readonly<Record<string, number>> = {
  TLSV1_0: 0,
  TLSV1_1: 1,
  TLSV1_2: 2,
  TLSV1_3: 3,
};

const CERT_FIELDS = [
  "serverCertificate",
  "privateKey",
  "caCertificates",
  "caCrl",
  "tlsCertificates",
  "credentialName",
  "credentialNames",
] as const;

function isSet(value: unknown): boolean {
  if (typeof value === "string") return value !== "";
  if (Array.isArray(value)) return value.length > 0;
  return false;
}

/** `IsValidCipherSuite`: a known name, "ALL", or an expression starting with an operator. */
function isKnownCipher(name: string): boolean {
  if (name === "" || name === "ALL") return true;
  if (!/^[\p{L}\p{N}]/u.test(name)) return true;
  return CIPHER_SUITES.has(name);
}

/** The TLS mode; an unset mode is PASSTHROUGH (the enum's zero value). */
export function tlsMode(tls: Obj): string {
  return typeof tls.mode === "string" ? tls.mode : "PASSTHROUGH";
}

function checkVersionsAndCiphers(ctx: ValidationContext, path: FieldPath, tls: Obj): void {
  const min = tls.minProtocolVersion;
  const max = tls.maxProtocolVersion;
  const ciphers = Array.isArray(tls.cipherSuites) ? tls.cipherSuites : [];
  if ((min === "TLSV1_0" || min === "TLSV1_1") && ciphers.length === 0) {
    ctx.warn(
      [...path, "minProtocolVersion"],
      "CREMA_VALIDATION_INVALID",
      `minProtocolVersion ${min} has no effect without cipherSuites: Envoy's default ciphers all need TLS 1.2; list compatible cipherSuites (e.g. ECDHE-RSA-AES128-SHA) or raise the minimum`,
    );
  }
  const minRank = typeof min === "string" ? VERSION_RANK[min] : undefined;
  const maxRank = typeof max === "string" ? VERSION_RANK[max] : undefined;
  if (minRank !== undefined && maxRank !== undefined && minRank > maxRank) {
    ctx.warn(
      [...path, "maxProtocolVersion"],
      "CREMA_VALIDATION_RANGE",
      `maxProtocolVersion ${max} is below minProtocolVersion ${min}, so no TLS version can be negotiated; raise the maximum or lower the minimum`,
    );
  }
  const seen = new Set<string>();
  ciphers.forEach((cipher, i) => {
    if (typeof cipher !== "string") return;
    if (!isKnownCipher(cipher)) {
      ctx.warn(
        [...path, "cipherSuites", i],
        "CREMA_VALIDATION_INVALID",
        `cipher suite ${JSON.stringify(cipher)} is not supported and will be ignored; use a BoringSSL name such as ECDHE-RSA-AES128-GCM-SHA256`,
      );
    } else if (seen.has(cipher)) {
      ctx.warn(
        [...path, "cipherSuites", i],
        "CREMA_VALIDATION_DUPLICATE",
        `cipher suite ${JSON.stringify(cipher)} is listed twice; remove the repeat`,
      );
    }
    seen.add(cipher);
  });
}

function checkIstioMutual(ctx: ValidationContext, path: FieldPath, tls: Obj): void {
  for (const field of CERT_FIELDS) {
    if (field === "caCrl" || !isSet(tls[field])) continue;
    ctx.error(
      [...path, field],
      "CREMA_VALIDATION_EXCLUSIVE",
      `ISTIO_MUTUAL uses the workload's Istio certificate, so ${field} cannot be set; remove it, or use mode MUTUAL to bring your own certificates`,
    );
  }
}

/** Serving certificate pairs: each `tlsCertificates` entry, or the top-level pair. */
function checkCertificatePairs(
  ctx: ValidationContext,
  path: FieldPath,
  tls: Obj,
  mode: string,
): void {
  const prefix = mode === "SIMPLE" ? "SIMPLE TLS" : `${mode} TLS`;
  const list = objects(tls.tlsCertificates);
  if (list.length > 2) {
    ctx.warn(
      [...path, "tlsCertificates"],
      "CREMA_VALIDATION_RANGE",
      `${prefix} can serve at most 2 certificates (typically one RSA and one ECDSA); remove the extra entries`,
    );
  }
  const pairs: Array<[Obj, FieldPath]> =
    list.length > 0
      ? list.map(([cert, i]) => [cert, [...path, "tlsCertificates", i]])
      : [[tls, path]];
  for (const [cert, at] of pairs) {
    if (!isSet(cert.serverCertificate)) {
      ctx.error(
        at,
        "CREMA_VALIDATION_REQUIRED",
        `${prefix} needs a server certificate; set credentialName to a Kubernetes secret, or serverCertificate and privateKey to file paths`,
      );
    }
    if (!isSet(cert.privateKey)) {
      ctx.error(
        at,
        "CREMA_VALIDATION_REQUIRED",
        `${prefix} needs a private key; set credentialName to a Kubernetes secret, or serverCertificate and privateKey to file paths`,
      );
    }
  }
}

/** Checks one server `tls` block (Istio's validateTLSOptions). */
export function checkServerTls(ctx: ValidationContext, path: FieldPath, tls: Obj): void {
  checkVersionsAndCiphers(ctx, path, tls);
  const mode = tlsMode(tls);
  if (mode === "ISTIO_MUTUAL") {
    checkIstioMutual(ctx, path, tls);
    return;
  }
  if (mode === "PASSTHROUGH" || mode === "AUTO_PASSTHROUGH") {
    const certs = CERT_FIELDS.filter((f) => isSet(tls[f]));
    if (certs.length > 0) {
      ctx.warn(
        [...path, certs[0]!],
        "CREMA_VALIDATION_INVALID",
        `${mode} forwards TLS without terminating it, so ${certs.join(", ")} ${certs.length > 1 ? "are" : "is"} ignored; remove ${certs.length > 1 ? "them" : "it"}, or set mode SIMPLE to terminate TLS here`,
      );
    }
  }
  const sources = [
    isSet(tls.serverCertificate) && isSet(tls.privateKey) ? "serverCertificate/privateKey" : "",
    isSet(tls.credentialName) ? "credentialName" : "",
    isSet(tls.credentialNames) ? "credentialNames" : "",
    isSet(tls.tlsCertificates) ? "tlsCertificates" : "",
  ].filter((s) => s !== "");
  if (sources.length > 1) {
    ctx.error(
      path,
      "CREMA_VALIDATION_EXCLUSIVE",
      `certificates come from ${sources.join(" and ")}; use only one of credentialName, credentialNames, serverCertificate/privateKey or tlsCertificates`,
    );
  }
  const terminating = mode === "SIMPLE" || mode === "MUTUAL" || mode === "OPTIONAL_MUTUAL";
  // Certificates (and any CRL) fetched from a secret are not checked further, as in Istio.
  if (terminating && (isSet(tls.credentialName) || isSet(tls.credentialNames))) return;
  if (terminating) {
    if (mode !== "SIMPLE" && !isSet(tls.caCertificates)) {
      ctx.error(
        path,
        "CREMA_VALIDATION_REQUIRED",
        `${mode} TLS verifies client certificates and needs a CA bundle; set caCertificates, or use credentialName with a secret that holds ca.crt`,
      );
    }
    checkCertificatePairs(ctx, path, tls, mode);
  }
  if (!isSet(tls.caCrl)) return;
  if (isSet(tls.credentialName)) {
    ctx.error(
      [...path, "caCrl"],
      "CREMA_VALIDATION_EXCLUSIVE",
      "caCrl cannot be combined with credentialName; put the CRL into the credential's secret (key ca.crl) instead",
    );
  }
  if (mode === "SIMPLE") {
    ctx.error(
      [...path, "caCrl"],
      "CREMA_VALIDATION_INVALID",
      "caCrl is not supported with SIMPLE TLS (clients are not verified); remove it or use mode MUTUAL",
    );
  }
}
