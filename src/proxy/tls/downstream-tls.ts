// TLS termination for one filter chain (a DownstreamTlsContext): a node:tls server that never
// listens, fed the connections the listener accepted, as Envoy's SslSocket wraps them. It asks
// for the client certificate when the context validates one (requiring it with
// require_client_certificate), judges it as Envoy's default validator does, and hands the
// decrypted socket on with what the handshake established. A rotation (the SecretProvider's
// onChange) replaces the context for new handshakes; established connections keep theirs.
import type { Socket } from "node:net";
import { type TLSSocket, Server as TlsServer } from "node:tls";
import type { Logger } from "../../base/logger.ts";
import type { DownstreamTlsInfo } from "../listener/types.ts";
import type { StatsStore } from "../stats/stats-store.ts";
import { parseSubjectAltNames, peerVerificationError, rfc2253Subject } from "./peer-certificate.ts";
import type { SecretProvider } from "./secret-provider.ts";
import { secureContextOptions } from "./secure-context.ts";
import type { DownstreamTlsConfig } from "./tls-context.ts";

/** Envoy sets no handshake limit by default; node's TLS server waits 120 s, and so does crema. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 120_000;

export interface DownstreamTlsDeps {
  secrets: SecretProvider;
  logger: Logger;
  stats?: StatsStore;
  /** Envoy's `listener.<address>.` prefix for the `ssl.*` counters. */
  statPrefix?: string;
  /** transport_socket_connect_timeout. */
  handshakeTimeoutMs?: number;
}

export interface HandshakeCallbacks {
  /** The handshake completed and the peer is acceptable: serve `socket` as plaintext. */
  onSecure(socket: TLSSocket, tls: DownstreamTlsInfo): void;
  /** The connection is gone (refused, failed its handshake or closed); `reason` says why. */
  onFailure(reason: string): void;
}

interface Pending {
  raw: Socket;
  callbacks: HandshakeCallbacks;
}

/** A connection's identity that both the accepted socket and its TLS wrapper report. */
function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
}

export class DownstreamTlsTerminator {
  private readonly config: DownstreamTlsConfig;
  private readonly deps: DownstreamTlsDeps;
  private readonly server: TlsServer;
  private readonly pending = new Map<string, Pending>();
  private readonly unsubscribe: () => void;
  /** Why handshakes cannot happen now (no certificate yet), or undefined when they can. */
  private notReady: string | undefined = "not loaded";

  constructor(config: DownstreamTlsConfig, deps: DownstreamTlsDeps) {
    this.config = config;
    this.deps = deps;
    const alpn = config.common.alpnProtocols;
    this.server = new TlsServer({
      requestCert: config.requireClientCertificate || config.common.validation !== undefined,
      // Judged after the handshake by peerVerificationError, as Envoy's validator would.
      rejectUnauthorized: false,
      handshakeTimeout: deps.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      // Envoy picks the server's first protocol the client offers and, with none in common,
      // negotiates nothing; node would send a fatal alert instead, so the client's first is
      // echoed and treated as no agreement (see negotiatedAlpn).
      ...(alpn.length > 0
        ? {
            ALPNCallback: ({ protocols }: { protocols: string[] }) =>
              alpn.find((p) => protocols.includes(p)) ?? protocols[0],
          }
        : {}),
    });
    this.server.on("secureConnection", (socket: TLSSocket) => this.onSecure(socket));
    this.server.on("tlsClientError", (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      this.count("connection_error");
      this.deps.logger.debug({ err: error.code ?? error.message }, "TLS handshake failed");
      socket.destroy();
    });
    this.load();
    this.unsubscribe = deps.secrets.onChange(() => this.load());
  }

  /** Runs the handshake on an accepted connection; exactly one callback follows. */
  accept(raw: Socket, callbacks: HandshakeCallbacks): void {
    if (this.notReady !== undefined) {
      this.count("connection_error");
      raw.destroy();
      callbacks.onFailure(this.notReady);
      return;
    }
    const key = connectionKey(raw);
    this.pending.set(key, { raw, callbacks });
    raw.once("close", () => {
      const entry = this.pending.get(key);
      if (entry?.raw !== raw) return;
      this.pending.delete(key);
      callbacks.onFailure("connection closed during the TLS handshake");
    });
    this.server.emit("connection", raw);
  }

  close(): void {
    this.unsubscribe();
    for (const { raw } of [...this.pending.values()]) raw.destroy();
    this.pending.clear();
  }

  private load(): void {
    const material = secureContextOptions(this.config.common, this.deps.secrets, "server");
    if (!material.ok) {
      this.notReady = material.reason;
      return;
    }
    try {
      this.server.setSecureContext({
        ...material.options,
        honorCipherOrder: !this.config.preferClientCiphers,
      });
      this.notReady = undefined;
    } catch (error) {
      // A bad rotation keeps the last good context, as Envoy keeps the last good secret.
      this.deps.logger.error({ err: (error as Error).message }, "invalid TLS certificate material");
      this.notReady ??= `invalid TLS material: ${(error as Error).message}`;
    }
  }

  private onSecure(socket: TLSSocket): void {
    const key = connectionKey(socket);
    const entry = this.pending.get(key);
    if (!entry) {
      socket.destroy();
      return;
    }
    this.pending.delete(key);
    const validation = this.config.common.validation;
    let failure = peerVerificationError(socket, validation, {
      requireCertificate: this.config.requireClientCertificate,
    });
    if (!failure && this.config.requireSni && !socket.servername) failure = "no SNI";
    if (failure) {
      this.count(failureStat(failure));
      socket.destroy();
      entry.callbacks.onFailure(failure);
      return;
    }
    this.count("handshake");
    entry.callbacks.onSecure(socket, this.describe(socket));
  }

  private describe(socket: TLSSocket): DownstreamTlsInfo {
    const peer = socket.getPeerX509Certificate();
    const local = socket.getX509Certificate();
    const sans = parseSubjectAltNames(peer?.subjectAltName);
    const v = this.config.common.validation;
    const trusted = v !== undefined && (v.trustedCa ?? v.trustedCaSecret) !== undefined;
    const negotiated = socket.alpnProtocol;
    return {
      uriSans: sans.uri,
      dnsSans: sans.dns,
      subject: peer ? rfc2253Subject(peer) : "",
      peerCertificatePresented: peer !== undefined,
      peerCertificateValidated:
        peer !== undefined && trusted && !v.acceptUntrusted && socket.authorized,
      alpn:
        typeof negotiated === "string" && this.config.common.alpnProtocols.includes(negotiated)
          ? negotiated
          : "",
      ...(local ? { localCertificate: local } : {}),
      ...(peer ? { peerCertificate: peer } : {}),
    };
  }

  private count(name: string): void {
    if (this.deps.stats && this.deps.statPrefix !== undefined)
      this.deps.stats.counter(`${this.deps.statPrefix}ssl.${name}`).inc();
  }
}

function failureStat(reason: string): string {
  if (reason === "peer did not present a certificate") return "fail_verify_no_cert";
  if (reason === "peer certificate SAN does not match") return "fail_verify_san";
  if (reason === "no SNI") return "connection_error";
  return "fail_verify_error";
}
