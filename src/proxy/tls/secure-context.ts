// A TLS context's material as node:tls options: certificates inline, from files or from the
// SecretProvider by SDS name, the trusted roots (inline or a file, or the `ROOTCA` secret merged
// over them), CRLs, and the protocol
// parameters with Envoy's defaults for each side. Built when a context is first used and again
// whenever the provider reports a rotation, so only new handshakes see new material.
import { readFileSync } from "node:fs";
import type { SecureContextOptions } from "node:tls";
import type { SecretProvider } from "./secret-provider.ts";
import type { CommonTlsConfig, DataSource } from "./tls-context.ts";

export type TlsSide = "server" | "client";

export type SecureContextResult =
  | { ok: true; options: SecureContextOptions }
  /** Envoy's wording when an SDS secret has not arrived: the handshake cannot happen yet. */
  | { ok: false; reason: string };

/** Envoy's NotReadySslSocket failure reason. */
export const SECRET_NOT_READY = "TLS error: Secret is not supplied by SDS";

/** Envoy's defaults: TLS 1.2 minimum; at most TLS 1.2 for clients, 1.3 for servers. */
const DEFAULT_MAX: Record<TlsSide, "TLSv1.2" | "TLSv1.3"> = {
  server: "TLSv1.3",
  client: "TLSv1.2",
};

/** A DataSource's text, or why it cannot be read (a file that is missing here). */
function read(source: DataSource): { ok: true; text: string } | { ok: false; reason: string } {
  if ("inline" in source) return { ok: true, text: source.inline };
  try {
    return { ok: true, text: readFileSync(source.filename, "utf8") };
  } catch (error) {
    return {
      ok: false,
      reason: `TLS error: cannot read ${source.filename}: ${(error as Error).message}`,
    };
  }
}

export function secureContextOptions(
  common: CommonTlsConfig,
  secrets: SecretProvider,
  side: TlsSide,
): SecureContextResult {
  const cert: string[] = [];
  const key: { pem: string; passphrase?: string }[] = [];
  for (const source of common.certificates) {
    if (source.kind === "sds") {
      const secret = secrets.certificate(source.name);
      if (!secret) return { ok: false, reason: SECRET_NOT_READY };
      cert.push(secret.certificateChainPem);
      key.push({ pem: secret.privateKeyPem });
      continue;
    }
    const chain = read(source.certificateChain);
    if (!chain.ok) return chain;
    const privateKey = read(source.privateKey);
    if (!privateKey.ok) return privateKey;
    const password = source.password ? read(source.password) : undefined;
    if (password && !password.ok) return password;
    cert.push(chain.text);
    key.push({ pem: privateKey.text, ...(password ? { passphrase: password.text } : {}) });
  }
  const options: SecureContextOptions = {
    minVersion: common.params.minVersion ?? "TLSv1.2",
    maxVersion: common.params.maxVersion ?? DEFAULT_MAX[side],
  };
  if (cert.length > 0) {
    options.cert = cert;
    options.key = key;
  }
  const validation = common.validation;
  if (validation?.trustedCaSecret !== undefined) {
    // Merged over the default validation context: the SDS roots replace its trusted_ca.
    const roots = secrets.trustedCa(validation.trustedCaSecret);
    if (roots === undefined) return { ok: false, reason: SECRET_NOT_READY };
    options.ca = roots;
  } else if (validation?.trustedCa) {
    const roots = read(validation.trustedCa);
    if (!roots.ok) return roots;
    options.ca = roots.text;
  }
  if (validation?.crl) {
    const crl = read(validation.crl);
    if (!crl.ok) return crl;
    options.crl = crl.text;
  }
  if (common.params.ciphers) options.ciphers = common.params.ciphers;
  if (common.params.ecdhCurve) options.ecdhCurve = common.params.ecdhCurve;
  if (common.params.sigalgs) options.sigalgs = common.params.sigalgs;
  return { ok: true, options };
}
