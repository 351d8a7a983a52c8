// Decoding Envoy's TLS transport sockets: what Istio sends for mTLS, the fields crema maps to
// node:tls, and the NACK reasons for what it cannot honour.
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { readerFor } from "../upstream/decode-fields.ts";
import {
  decodeDownstreamTransportSocket,
  decodeUpstreamTransportSocket,
} from "./decode-tls-context.ts";
import { istioDownstreamTls, istioUpstreamTls } from "./testing.ts";

const DOWNSTREAM =
  "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
const UPSTREAM = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";

function downstream(json: JsonObject) {
  const errors: string[] = [];
  const f = readerFor(errors, json, "transport_socket");
  const value = f ? decodeDownstreamTransportSocket(f) : undefined;
  return { value, errors };
}

function upstream(json: JsonObject) {
  const errors: string[] = [];
  const f = readerFor(errors, json, "transport_socket");
  const value = f ? decodeUpstreamTransportSocket(f) : undefined;
  return { value, errors };
}

const tls = (type: string, config: JsonObject): JsonObject => ({
  name: "envoy.transport_sockets.tls",
  typed_config: { "@type": type, ...config },
});

const INLINE_CERT = {
  certificate_chain: { inline_string: "CERT" },
  private_key: { inline_string: "KEY" },
};

describe("decodeDownstreamTransportSocket", () => {
  it("reads Istio's inbound mTLS context: SDS default and ROOTCA, ALPN, required client cert", () => {
    const { value, errors } = downstream(
      istioDownstreamTls([{ san_type: "URI", matcher: { prefix: "spiffe://cluster.local/" } }]),
    );
    expect(errors).toEqual([]);
    expect(value).toEqual({
      common: {
        certificates: [{ kind: "sds", name: "default" }],
        validation: {
          trustedCaSecret: "ROOTCA",
          sanMatchers: [
            { sanType: "URI", kind: "prefix", value: "spiffe://cluster.local/", ignoreCase: false },
          ],
          acceptUntrusted: false,
          allowExpiredCertificate: false,
        },
        alpnProtocols: ["h2", "http/1.1"],
        params: { minVersion: "TLSv1.2", maxVersion: "TLSv1.3" },
      },
      requireClientCertificate: true,
      requireSni: false,
      preferClientCiphers: false,
    });
  });

  it("takes raw_buffer as no TLS, by type or by name", () => {
    const byType = downstream({
      name: "envoy.transport_sockets.raw_buffer",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer",
      },
    });
    expect(byType).toEqual({ value: undefined, errors: [] });
    expect(downstream({ name: "envoy.transport_sockets.raw_buffer" })).toEqual({
      value: undefined,
      errors: [],
    });
  });

  it("reads inline and file certificates, trusted CA, CRL, typed and untyped SAN matchers", () => {
    const { value, errors } = downstream(
      tls(DOWNSTREAM, {
        common_tls_context: {
          tls_certificates: [
            INLINE_CERT,
            {
              certificate_chain: { filename: "/etc/certs/cert-chain.pem" },
              private_key: { inline_bytes: Buffer.from("K2").toString("base64") },
              password: { inline_string: "secret" },
            },
          ],
          validation_context: {
            trusted_ca: { filename: "/etc/certs/root-cert.pem" },
            crl: { inline_string: "CRL" },
            match_subject_alt_names: [{ exact: "a.example" }],
            match_typed_subject_alt_names: [
              { san_type: "DNS", matcher: { suffix: ".example", ignore_case: true } },
              {
                san_type: "URI",
                matcher: { safe_regex: { regex: "spiffe://td/ns/[a-z]+/sa/.*" } },
              },
            ],
            allow_expired_certificate: true,
          },
        },
        require_sni: true,
        prefer_client_ciphers: true,
      }),
    );
    expect(errors).toEqual([]);
    expect(value?.common.certificates).toEqual([
      { kind: "inline", certificateChain: { inline: "CERT" }, privateKey: { inline: "KEY" } },
      {
        kind: "inline",
        certificateChain: { filename: "/etc/certs/cert-chain.pem" },
        privateKey: { inline: "K2" },
        password: { inline: "secret" },
      },
    ]);
    expect(value?.common.validation).toEqual({
      trustedCa: { filename: "/etc/certs/root-cert.pem" },
      crl: { inline: "CRL" },
      sanMatchers: [
        { sanType: "DNS", kind: "suffix", value: ".example", ignoreCase: true },
        { sanType: "URI", kind: "regex", value: "spiffe://td/ns/[a-z]+/sa/.*", ignoreCase: false },
        { sanType: "ANY", kind: "exact", value: "a.example", ignoreCase: false },
      ],
      acceptUntrusted: false,
      allowExpiredCertificate: true,
    });
    expect(value).toMatchObject({ requireSni: true, preferClientCiphers: true });
  });

  it("maps tls_params to node:tls, flattening BoringSSL's equal-preference groups", () => {
    const { value, errors } = downstream(
      tls(DOWNSTREAM, {
        common_tls_context: {
          tls_certificates: [INLINE_CERT],
          tls_params: {
            tls_minimum_protocol_version: "TLSv1_2",
            tls_maximum_protocol_version: "TLS_AUTO",
            cipher_suites: ["[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-RSA-AES128-GCM-SHA256]"],
            ecdh_curves: ["X25519", "P-256"],
          },
        },
      }),
    );
    expect(errors).toEqual([]);
    expect(value?.common.params).toMatchObject({
      minVersion: "TLSv1.2",
      ecdhCurve: "X25519:P-256",
    });
    expect(value?.common.params.maxVersion).toBeUndefined();
    // TLS 1.3 suites stay: Envoy's cipher_suites only restrict TLS 1.0–1.2.
    expect(value?.common.params.ciphers).toMatch(
      /^TLS_.*:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256$/,
    );
  });

  it("NACKs what it cannot honour, with every reason and its field", () => {
    const { errors } = downstream(
      tls(DOWNSTREAM, {
        common_tls_context: {
          tls_certificates: [
            { ...INLINE_CERT, private_key_provider: { provider_name: "qat" }, ocsp_staple: {} },
          ],
          validation_context: { match_subject_alt_names: [{ exact: "x" }], system_root_certs: {} },
          tls_params: { cipher_suites: ["NOT-A-CIPHER"] },
          tls_certificate_provider_instance: { instance_name: "default" },
        },
        ocsp_staple_policy: "MUST_STAPLE",
        session_ticket_keys: { keys: [] },
      }),
    );
    const text = errors.join("\n");
    expect(text).toContain(
      "transport_socket.typed_config.common_tls_context.tls_certificates[0].private_key_provider: private key providers are not supported",
    );
    expect(text).toContain("tls_certificates[0].ocsp_staple: OCSP stapling is not supported");
    expect(text).toContain("ocsp_staple_policy: OCSP stapling is not supported");
    expect(text).toContain("session_ticket_keys: session ticket keys are not supported");
    expect(text).toContain(
      "validation_context.system_root_certs: system root certificates are not supported",
    );
    expect(text).toContain("tls_certificate_provider_instance: certificate provider instances");
    expect(text).toContain(
      "SAN-based verification of peer certificates without trusted CA is insecure and not allowed",
    );
    expect(text).toContain("common_tls_context.tls_params: server TLS parameters rejected");
  });

  it("NACKs a server context without a certificate, a bad regex and unknown sockets", () => {
    expect(downstream(tls(DOWNSTREAM, {})).errors.join()).toContain(
      "a DownstreamTlsContext needs a certificate",
    );
    const regex = downstream(
      tls(DOWNSTREAM, {
        common_tls_context: {
          tls_certificates: [INLINE_CERT],
          validation_context: {
            trusted_ca: { inline_string: "CA" },
            match_typed_subject_alt_names: [
              { san_type: "URI", matcher: { safe_regex: { regex: "(" } } },
            ],
          },
        },
      }),
    );
    expect(regex.errors.join()).toContain('invalid RE2 regex "("');
    expect(downstream({ name: "envoy.transport_sockets.alts" }).errors).toEqual([
      'transport_socket: unsupported transport socket "envoy.transport_sockets.alts"',
    ]);
    expect(downstream(tls(UPSTREAM, {})).errors.join()).toContain(
      "a listener needs a DownstreamTlsContext",
    );
    expect(downstream({ name: "envoy.transport_sockets.tls" }).errors.join()).toContain(
      "typed_config is required",
    );
  });
});

describe("decodeUpstreamTransportSocket", () => {
  it("reads Istio's ISTIO_MUTUAL context: SNI, ALPN, the destination's SPIFFE identity", () => {
    const { value, errors } = upstream(
      istioUpstreamTls({
        sni: "outbound_.9080_._.reviews.default.svc.cluster.local",
        identity: "spiffe://cluster.local/ns/default/sa/reviews",
      }),
    );
    expect(errors).toEqual([]);
    expect(value?.kind).toBe("tls");
    if (value?.kind !== "tls") return;
    expect(value.key).toMatch(/^[0-9a-f]{16}$/);
    expect(value.tls).toEqual({
      common: {
        certificates: [{ kind: "sds", name: "default" }],
        validation: {
          trustedCaSecret: "ROOTCA",
          sanMatchers: [
            {
              sanType: "URI",
              kind: "exact",
              value: "spiffe://cluster.local/ns/default/sa/reviews",
              ignoreCase: false,
            },
          ],
          acceptUntrusted: false,
          allowExpiredCertificate: false,
        },
        alpnProtocols: ["istio-peer-exchange", "istio"],
        params: { minVersion: "TLSv1.2", maxVersion: "TLSv1.3" },
      },
      sni: "outbound_.9080_._.reviews.default.svc.cluster.local",
      autoHostSni: false,
    });
  });

  it("gives different settings different keys, and equal settings the same", () => {
    const a = upstream(istioUpstreamTls({ sni: "a" })).value;
    const a2 = upstream(istioUpstreamTls({ sni: "a" })).value;
    const b = upstream(istioUpstreamTls({ sni: "b" })).value;
    expect(a?.kind === "tls" && a2?.kind === "tls" && a.key === a2.key).toBe(true);
    expect(a?.kind === "tls" && b?.kind === "tls" && a.key !== b.key).toBe(true);
  });

  it("ignores renegotiation and session-cache settings, NACKs auto SAN validation", () => {
    const { value, errors } = upstream(
      tls(UPSTREAM, { allow_renegotiation: true, max_session_keys: 0, auto_host_sni: true }),
    );
    expect(errors).toEqual([]);
    expect(value).toMatchObject({ kind: "tls", tls: { autoHostSni: true, sni: "" } });
    expect(upstream(tls(UPSTREAM, { auto_sni_san_validation: true })).errors.join()).toContain(
      "auto_sni_san_validation is not supported",
    );
    expect(upstream(tls(DOWNSTREAM, {})).errors.join()).toContain(
      "a cluster needs an UpstreamTlsContext",
    );
  });
});
