// TLS origination for clusters (an UpstreamTlsContext): opens the TLS connection to a host with
// the context's SNI, ALPN list and client certificate, and judges the server's certificate as
// Envoy does — against the trusted CA and the SAN matchers when a validation context is set, not
// at all when none is (Envoy accepts any server then; node's hostname check never applies). The
// secure contexts are built once per decoded context and rebuilt after a rotation.
import { connect, createSecureContext, type SecureContext, type TLSSocket } from "node:tls";
import { peerVerificationError } from "./peer-certificate.ts";
import type { SecretProvider } from "./secret-provider.ts";
import { secureContextOptions } from "./secure-context.ts";
import type { SanMatcher, UpstreamTlsConfig, ValidationConfig } from "./tls-context.ts";
import { recordUpstreamSslInfo } from "./upstream-ssl-info.ts";

/** A context without validation, given a SAN to check: no chain check, SANs only. */
const UNCHECKED_CHAIN: ValidationConfig = {
  sanMatchers: [],
  acceptUntrusted: true,
  allowExpiredCertificate: false,
};

const dnsSan = (name: string): SanMatcher => ({
  sanType: "DNS",
  kind: "exact",
  value: name,
  ignoreCase: true,
});

/** TLS to one host: the cluster's (or the matching transport_socket_match's) context. */
export interface UpstreamTlsTarget {
  config: UpstreamTlsConfig;
  /** Identifies the context's settings (pool keys). */
  key: string;
  /** The host's hostname, SNI with auto_host_sni. */
  hostname?: string;
  /** The request's host, with the cluster's auto_sni: the SNI, whatever the context says. */
  autoSni?: string;
  /** With auto_san_validation: the one DNS SAN the server's certificate must have (it replaces
   * the context's SAN matchers, as Envoy's verify-SAN-list override does). */
  verifySan?: string;
  /** The ALPN list to offer instead of the context's (what HTTP connections offer). */
  alpn?: string[];
}

export interface UpstreamTlsConnection {
  socket: TLSSocket;
  /** Set when the connection cannot be made (no certificate yet): the caller fails it. */
  failure?: string;
}

interface BuiltContext {
  generation: number;
  context: SecureContext | undefined;
  failure?: string;
}

export class UpstreamTlsConnector {
  private readonly secrets: SecretProvider;
  private readonly contexts = new WeakMap<UpstreamTlsConfig, BuiltContext>();
  /** Verification outcomes of connections still to be judged by their users. */
  private readonly failures = new WeakMap<TLSSocket, string>();
  private generation = 0;
  private readonly unsubscribe: () => void;

  constructor(secrets: SecretProvider) {
    this.secrets = secrets;
    this.unsubscribe = secrets.onChange(() => {
      this.generation++;
    });
  }

  /**
   * Starts a TLS connection. Once it emits `secureConnect`, `verificationFailure` says whether the
   * server was acceptable (this connector's listener runs before any added later).
   */
  connect(
    address: { host: string; port: number; localAddress?: string },
    target: UpstreamTlsTarget,
  ): UpstreamTlsConnection {
    const built = this.context(target.config);
    const { sni, autoHostSni, common } = target.config;
    const servername =
      target.autoSni || sni || (autoHostSni ? target.hostname : undefined) || undefined;
    const validation = target.verifySan
      ? { ...(common.validation ?? UNCHECKED_CHAIN), sanMatchers: [dnsSan(target.verifySan)] }
      : common.validation;
    const alpn = target.alpn ?? common.alpnProtocols;
    const socket = connect({
      host: address.host,
      port: address.port,
      ...(address.localAddress ? { localAddress: address.localAddress } : {}),
      ...(built.context ? { secureContext: built.context } : {}),
      ...(servername ? { servername } : {}),
      ...(alpn.length > 0 ? { ALPNProtocols: alpn } : {}),
      // Judged below as Envoy's validator would; node's own checks would reject by hostname.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    socket.setNoDelay(true);
    socket.once("secureConnect", () => {
      // node gives a client its server's certificate once only: read it here, for both uses.
      const peer = socket.getPeerX509Certificate();
      const failure = peerVerificationError(
        socket,
        validation,
        { requireCertificate: validation !== undefined },
        peer,
      );
      if (failure) this.failures.set(socket, failure);
      else recordUpstreamSslInfo(socket, peer);
    });
    return built.failure ? { socket, failure: built.failure } : { socket };
  }

  /** Why the server of a connected socket was refused, or undefined when it was accepted. */
  verificationFailure(socket: TLSSocket): string | undefined {
    return this.failures.get(socket);
  }

  close(): void {
    this.unsubscribe();
  }

  private context(config: UpstreamTlsConfig): BuiltContext {
    const cached = this.contexts.get(config);
    if (cached && cached.generation === this.generation) return cached;
    const material = secureContextOptions(config.common, this.secrets, "client");
    let built: BuiltContext;
    if (!material.ok)
      built = { generation: this.generation, context: undefined, failure: material.reason };
    else {
      try {
        built = { generation: this.generation, context: createSecureContext(material.options) };
      } catch (error) {
        built = {
          generation: this.generation,
          context: undefined,
          failure: `TLS error: ${(error as Error).message}`,
        };
      }
    }
    this.contexts.set(config, built);
    return built;
  }
}
