// What the certificates of an upstream TLS connection say, as Envoy's Ssl::ConnectionInfo of an
// upstream connection gives it to every stream that uses the connection: the first URI SAN (the
// SPIFFE id under Istio mTLS) of the server's certificate and of the proxy's own. Read once per
// connection, when its handshake completes: node hands a client its server's certificate once
// (a second getPeerX509Certificate() gives nothing), so the verifier's copy is passed in.
import type { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { parseSubjectAltNames } from "./peer-certificate.ts";

export interface UpstreamSslInfo {
  /** The server certificate's first URI SAN (Envoy's uriSanPeerCertificate()[0]). */
  readonly peerUriSan: string | undefined;
  /** The first URI SAN of the certificate this proxy presented (uriSanLocalCertificate()[0]). */
  readonly localUriSan: string | undefined;
}

const bySocket = new WeakMap<Socket, UpstreamSslInfo>();

/** Records the certificates of a connection whose handshake just completed (`secureConnect`). */
export function recordUpstreamSslInfo(socket: TLSSocket, peer: X509Certificate | undefined): void {
  bySocket.set(socket, {
    peerUriSan: parseSubjectAltNames(peer?.subjectAltName).uri[0],
    localUriSan: parseSubjectAltNames(socket.getX509Certificate()?.subjectAltName).uri[0],
  });
}

/** The SANs of a connected upstream socket; undefined for plaintext (Envoy has no SSL info). */
export function upstreamSslInfo(socket: Socket | undefined): UpstreamSslInfo | undefined {
  return socket === undefined ? undefined : bySocket.get(socket);
}
