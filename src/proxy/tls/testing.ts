// Test support for TLS: certificates minted by crema's own CA library (a self-signed root and
// SPIFFE workload leaves, as the agent would get them), a SecretProvider whose secrets a test sets
// and rotates, and the DownstreamTlsContext / UpstreamTlsContext JSON Istio writes for mTLS.
import type { CaBundle } from "../../ca/ca-bundle.ts";
import { exportPrivateKeyPem, generateKeyPair } from "../../ca/crypto-keys.ts";
import { issueLeafCertificate } from "../../ca/issue-leaf.ts";
import { createSelfSignedCa } from "../../ca/root-ca.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import {
  ROOT_CA_SECRET,
  type SecretProvider,
  type TlsCertificate,
  WORKLOAD_SECRET,
} from "./secret-provider.ts";

export interface TestCa {
  bundle: CaBundle;
  /** The trusted roots (PEM). */
  rootsPem: string;
  /** A leaf for these SANs, valid now (or from `notBefore` for `ttlMs`). */
  issue(sans: {
    uris?: string[];
    dnsNames?: string[];
    notBefore?: number;
    ttlMs?: number;
  }): Promise<TlsCertificate>;
}

export async function createTestCa(trustDomain = "cluster.local"): Promise<TestCa> {
  const bundle = await createSelfSignedCa({ trustDomain });
  const rootsPem = bundle.rootsPem.join("");
  return {
    bundle,
    rootsPem,
    issue: async (sans) => {
      const keys = await generateKeyPair("ecdsa-p256");
      const notBefore = sans.notBefore ?? Date.now() - 60_000;
      const leaf = await issueLeafCertificate(bundle, {
        publicKey: await crypto.subtle.exportKey("spki", keys.publicKey),
        ...(sans.uris ? { uris: sans.uris } : {}),
        ...(sans.dnsNames ? { dnsNames: sans.dnsNames } : {}),
        notBefore,
        notAfter: notBefore + (sans.ttlMs ?? 24 * 3600 * 1000),
      });
      return {
        certificateChainPem: leaf,
        privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
      };
    },
  };
}

/** Secrets a test sets by name; setting one notifies the subscribers (a rotation). */
export class StaticSecrets implements SecretProvider {
  private readonly certificates = new Map<string, TlsCertificate>();
  private readonly roots = new Map<string, string>();
  private readonly listeners = new Set<() => void>();

  /** Istio's pair: the workload certificate as `default`, the roots as `ROOTCA`. */
  static workload(certificate: TlsCertificate, rootsPem: string): StaticSecrets {
    const secrets = new StaticSecrets();
    secrets.setCertificate(WORKLOAD_SECRET, certificate);
    secrets.setTrustedCa(ROOT_CA_SECRET, rootsPem);
    return secrets;
  }

  setCertificate(name: string, certificate: TlsCertificate): void {
    this.certificates.set(name, certificate);
    this.changed();
  }

  setTrustedCa(name: string, pem: string): void {
    this.roots.set(name, pem);
    this.changed();
  }

  certificate(name: string): TlsCertificate | undefined {
    return this.certificates.get(name);
  }

  trustedCa(name: string): string | undefined {
    return this.roots.get(name);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

const SDS = {
  api_config_source: {
    api_type: "GRPC",
    grpc_services: [{ envoy_grpc: { cluster_name: "sds-grpc" } }],
    transport_api_version: "V3",
  },
  resource_api_version: "V3",
};

/** Istio's common_tls_context for ISTIO_MUTUAL: `default` over SDS, `ROOTCA` merged over SANs. */
export function istioCommonTlsContext(options: {
  alpn: string[];
  sans?: JsonObject[];
}): JsonObject {
  return {
    tls_params: {
      tls_minimum_protocol_version: "TLSv1_2",
      tls_maximum_protocol_version: "TLSv1_3",
    },
    alpn_protocols: options.alpn,
    tls_certificate_sds_secret_configs: [{ name: WORKLOAD_SECRET, sds_config: SDS }],
    combined_validation_context: {
      default_validation_context: options.sans
        ? { match_typed_subject_alt_names: options.sans }
        : {},
      validation_context_sds_secret_config: { name: ROOT_CA_SECRET, sds_config: SDS },
    },
  };
}

/** A sidecar's inbound mTLS transport socket (require_client_certificate, as STRICT/PERMISSIVE). */
export function istioDownstreamTls(sans?: JsonObject[]): JsonObject {
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
      common_tls_context: istioCommonTlsContext({
        alpn: ["h2", "http/1.1"],
        ...(sans ? { sans } : {}),
      }),
      require_client_certificate: true,
    },
  };
}

/** An outbound ISTIO_MUTUAL transport socket verifying the destination's SPIFFE identity. */
export function istioUpstreamTls(options: {
  sni: string;
  identity?: string;
  alpn?: string[];
}): JsonObject {
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
      common_tls_context: istioCommonTlsContext({
        alpn: options.alpn ?? ["istio-peer-exchange", "istio"],
        ...(options.identity
          ? { sans: [{ san_type: "URI", matcher: { exact: options.identity } }] }
          : {}),
      }),
      sni: options.sni,
    },
  };
}
