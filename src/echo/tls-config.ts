// TLS for the HTTP port: loads certificate, key and CA, and reads the client certificate's URI SAN.
import { readFile } from "node:fs/promises";
import { createSecureContext, type TLSSocket, type TlsOptions } from "node:tls";
import { CremaError } from "../base/errors.ts";
import type { EchoTlsOptions } from "./options.ts";

async function material(
  inline: string | Buffer | undefined,
  file: string | undefined,
  what: string,
): Promise<string | Buffer | undefined> {
  if (inline !== undefined) return inline;
  if (file === undefined) return undefined;
  try {
    return await readFile(file);
  } catch (error) {
    throw new CremaError("CREMA_ECHO_TLS_CONFIG", `cannot read TLS ${what} '${file}'`, {
      cause: error,
    });
  }
}

/** Options for tls.createServer: ALPN h2 and http/1.1; client certificates when a CA is set. */
export async function loadTlsServerOptions(tls: EchoTlsOptions): Promise<TlsOptions> {
  const cert = await material(tls.cert, tls.certFile, "certificate");
  const key = await material(tls.key, tls.keyFile, "private key");
  const ca = await material(tls.ca, tls.caFile, "CA bundle");
  const options: TlsOptions = {
    cert,
    key,
    ALPNProtocols: ["h2", "http/1.1"],
    requestCert: ca !== undefined,
    // Without requireClientCert a client may come without a certificate; one that presents a
    // certificate the CA does not vouch for is still turned away (see acceptPeer).
    rejectUnauthorized: ca !== undefined && tls.requireClientCert === true,
  };
  if (ca !== undefined) options.ca = ca;
  try {
    createSecureContext(options);
  } catch (error) {
    throw new CremaError(
      "CREMA_ECHO_TLS_CONFIG",
      `the TLS certificate, key or CA is not usable: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return options;
}

export interface TlsPeer {
  /** False when the client presented a certificate that does not verify against the CA. */
  acceptable: boolean;
  uriSan: string | null;
}

/** What the client's certificate says, once the handshake is done. */
export function tlsPeerOf(socket: TLSSocket): TlsPeer {
  const cert = socket.getPeerCertificate();
  const presented = cert !== null && typeof cert === "object" && cert.raw !== undefined;
  if (!presented) return { acceptable: true, uriSan: null };
  if (!socket.authorized) return { acceptable: false, uriSan: null };
  return { acceptable: true, uriSan: firstUriSan(cert.subjectaltname) };
}

/**
 * The first URI entry of Node's subjectaltname text, e.g. 'DNS:a, URI:spiffe://td/ns/x/sa/y'.
 * Node writes values containing separators or quotes as JSON strings, so those are decoded.
 */
export function firstUriSan(subjectAltName: string | undefined): string | null {
  if (!subjectAltName) return null;
  let at = 0;
  const text = subjectAltName;
  while (at < text.length) {
    const colon = text.indexOf(":", at);
    if (colon < 0) return null;
    const kind = text.slice(at, colon);
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      const end = endOfQuoted(text, colon + 1);
      if (end < 0) return null;
      try {
        value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      } catch {
        return null;
      }
      next = text.indexOf(", ", end + 1);
    } else {
      next = text.indexOf(", ", colon + 1);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    if (kind === "URI") return value;
    if (next < 0) return null;
    at = next + 2;
  }
  return null;
}

function endOfQuoted(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}
