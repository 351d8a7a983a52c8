// Envoy's TLS transport socket, decoded with every problem collected (the proxy NACKs them):
// a filter chain's DownstreamTlsContext and a cluster's UpstreamTlsContext (or raw_buffer). What
// crema cannot honour — private key providers, OCSP stapling, session ticket keys, SPKI or hash
// pinning, certificate provider instances — is an error with the reason.
import { createHash } from "node:crypto";
import { createSecureContext, DEFAULT_CIPHERS } from "node:tls";
import { typeName } from "../listener/decode-listener-filters.ts";
import type { Fields } from "../routing/decode-reader.ts";
import { re2Problem } from "../routing/re2.ts";
import {
  type CertificateSource,
  type CommonTlsConfig,
  type DataSource,
  DOWNSTREAM_TLS_CONTEXT_TYPE,
  type DownstreamTlsConfig,
  RAW_BUFFER_TRANSPORT_SOCKET,
  RAW_BUFFER_TYPE,
  type SanMatcher,
  type SanType,
  TLS_TRANSPORT_SOCKET,
  type TlsParams,
  type TlsVersion,
  UPSTREAM_TLS_CONTEXT_TYPE,
  type UpstreamTlsConfig,
  type UpstreamTransportSocket,
  type ValidationConfig,
} from "./tls-context.ts";

const BY_NAME: Record<string, string> = {
  [TLS_TRANSPORT_SOCKET]: "(tls)",
  [RAW_BUFFER_TRANSPORT_SOCKET]: RAW_BUFFER_TYPE,
};

/** The transport socket's type name and typed_config (undefined type: already reported). */
function socketType(f: Fields): { type: string; typed: Fields | undefined } {
  const name = f.string("name");
  const typed = f.object("typed_config");
  f.finish();
  const url = typed ? typed.string("@type", 1) : "";
  const type = url ? typeName(url) : (BY_NAME[name] ?? "");
  if (type === "(tls)") f.error("typed_config is required for envoy.transport_sockets.tls");
  else if (type !== RAW_BUFFER_TYPE && type !== DOWNSTREAM_TLS_CONTEXT_TYPE) {
    if (type !== UPSTREAM_TLS_CONTEXT_TYPE)
      f.error(`unsupported transport socket ${JSON.stringify(name)}${url ? ` (${url})` : ""}`);
  }
  return { type, typed };
}

/** A filter chain's transport_socket: its DownstreamTlsContext, or undefined for raw_buffer. */
export function decodeDownstreamTransportSocket(f: Fields): DownstreamTlsConfig | undefined {
  const { type, typed } = socketType(f);
  if (type === UPSTREAM_TLS_CONTEXT_TYPE) f.error("a listener needs a DownstreamTlsContext");
  if (type === RAW_BUFFER_TYPE) typed?.finish();
  if (type !== DOWNSTREAM_TLS_CONTEXT_TYPE || !typed) return undefined;
  return decodeDownstreamTlsContext(typed);
}

/** A cluster's transport_socket (or a transport_socket_match's). */
export function decodeUpstreamTransportSocket(f: Fields): UpstreamTransportSocket {
  const { type, typed } = socketType(f);
  if (type === DOWNSTREAM_TLS_CONTEXT_TYPE) f.error("a cluster needs an UpstreamTlsContext");
  if (type !== UPSTREAM_TLS_CONTEXT_TYPE || !typed) {
    if (type === RAW_BUFFER_TYPE) typed?.finish();
    return { kind: "raw_buffer" };
  }
  const tls = decodeUpstreamTlsContext(typed);
  const key = createHash("sha256").update(JSON.stringify(tls)).digest("hex").slice(0, 16);
  return { kind: "tls", tls, key };
}

const OCSP_POLICIES = ["LENIENT_STAPLING", "STRICT_STAPLING", "MUST_STAPLE"] as const;

export function decodeDownstreamTlsContext(f: Fields): DownstreamTlsConfig {
  const common = decodeCommon(f.object("common_tls_context"), "server");
  if (common.certificates.length === 0)
    f.error(
      "a DownstreamTlsContext needs a certificate (tls_certificates or tls_certificate_sds_secret_configs)",
      "common_tls_context",
    );
  const config: DownstreamTlsConfig = {
    common,
    requireClientCertificate: f.bool("require_client_certificate"),
    requireSni: f.bool("require_sni"),
    preferClientCiphers: f.bool("prefer_client_ciphers"),
  };
  if (f.enumValue("ocsp_staple_policy", OCSP_POLICIES) !== "LENIENT_STAPLING")
    f.error("OCSP stapling is not supported by crema's proxy", "ocsp_staple_policy");
  f.unsupported("session_ticket_keys", "session ticket keys are not supported by crema's proxy");
  f.unsupported(
    "session_ticket_keys_sds_secret_config",
    "session ticket keys are not supported by crema's proxy",
  );
  // Resumption and certificate-selection tuning: no effect on what is accepted.
  f.skip("@type", "disable_stateless_session_resumption", "disable_stateful_session_resumption");
  f.skip("session_timeout", "full_scan_certs_on_sni_mismatch");
  f.finish();
  return config;
}

export function decodeUpstreamTlsContext(f: Fields): UpstreamTlsConfig {
  const sni = f.string("sni");
  if (Buffer.byteLength(sni) > 255) f.error("must be at most 255 bytes", "sni");
  const config: UpstreamTlsConfig = {
    common: decodeCommon(f.object("common_tls_context"), "client"),
    sni,
    autoHostSni: f.bool("auto_host_sni"),
  };
  if (f.bool("auto_sni_san_validation"))
    f.error("auto_sni_san_validation is not supported by crema's proxy", "auto_sni_san_validation");
  // Renegotiation and session caching: node's client neither renegotiates nor needs a limit.
  f.skip("@type", "allow_renegotiation", "max_session_keys", "enforce_rsa_key_usage");
  f.finish();
  return config;
}

const PROVIDERS_UNSUPPORTED = "certificate provider instances are gRPC's; crema's proxy uses SDS";

function decodeCommon(f: Fields | undefined, side: "server" | "client"): CommonTlsConfig {
  const common: CommonTlsConfig = { certificates: [], alpnProtocols: [], params: {} };
  if (!f) return common;
  const params = f.object("tls_params");
  if (params) common.params = decodeTlsParams(params);
  for (const c of f.objects("tls_certificates")) {
    const certificate = decodeTlsCertificate(c);
    if (certificate) common.certificates.push(certificate);
  }
  for (const s of f.objects("tls_certificate_sds_secret_configs")) {
    const name = sdsName(s);
    if (name) common.certificates.push({ kind: "sds", name });
  }
  for (const field of [
    "tls_certificate_provider_instance",
    "tls_certificate_certificate_provider",
    "tls_certificate_certificate_provider_instance",
    "validation_context_certificate_provider",
    "validation_context_certificate_provider_instance",
  ])
    f.unsupported(field, PROVIDERS_UNSUPPORTED);
  f.unsupported("custom_handshaker", "custom handshakers are not supported by crema's proxy");
  f.unsupported(
    "custom_tls_certificate_selector",
    "custom certificate selectors are not supported by crema's proxy",
  );
  f.skip("key_log");
  const which = f.oneof([
    "validation_context",
    "validation_context_sds_secret_config",
    "combined_validation_context",
  ] as const);
  if (which === "validation_context") {
    const v = f.object("validation_context");
    if (v) common.validation = decodeValidationContext(v);
  } else if (which === "validation_context_sds_secret_config") {
    const s = f.object("validation_context_sds_secret_config");
    const name = s && sdsName(s);
    if (name) common.validation = { ...emptyValidation(), trustedCaSecret: name };
  } else if (which === "combined_validation_context") {
    const c = f.object("combined_validation_context");
    if (c) common.validation = decodeCombined(c);
  }
  f.skip("validation_context", "validation_context_sds_secret_config");
  f.skip("combined_validation_context");
  common.alpnProtocols = f.strings("alpn_protocols");
  f.finish();
  const v = common.validation;
  if (v && v.sanMatchers.length > 0 && !hasTrustedCa(v) && !v.acceptUntrusted)
    f.error(
      "SAN-based verification of peer certificates without trusted CA is insecure and not allowed",
    );
  checkParams(f, common.params, side);
  return common;
}

function hasTrustedCa(v: ValidationConfig): boolean {
  return v.trustedCa !== undefined || v.trustedCaSecret !== undefined;
}

function emptyValidation(): ValidationConfig {
  return { sanMatchers: [], acceptUntrusted: false, allowExpiredCertificate: false };
}

/** An SdsSecretConfig: its name (any sds_config means "the local secret provider"). */
function sdsName(f: Fields): string {
  const name = f.string("name", 1);
  f.skip("sds_config");
  f.finish();
  return name;
}

function decodeCombined(f: Fields): ValidationConfig | undefined {
  const d = f.object("default_validation_context");
  const s = f.object("validation_context_sds_secret_config");
  for (const field of [
    "validation_context_certificate_provider",
    "validation_context_certificate_provider_instance",
  ])
    f.unsupported(field, PROVIDERS_UNSUPPORTED);
  if (!d) f.error("is required", "default_validation_context");
  if (!s) f.error("is required", "validation_context_sds_secret_config");
  f.finish();
  const validation = d ? decodeValidationContext(d) : emptyValidation();
  const name = s && sdsName(s);
  // The SDS secret is merged over the default context: its roots are the ones trusted.
  if (name) validation.trustedCaSecret = name;
  return validation;
}

function decodeValidationContext(f: Fields): ValidationConfig {
  const validation = emptyValidation();
  const ca = f.object("trusted_ca");
  const trustedCa = ca && dataSource(ca);
  if (trustedCa) validation.trustedCa = trustedCa;
  const crlField = f.object("crl");
  const crl = crlField && dataSource(crlField);
  if (crl) validation.crl = crl;
  if (f.bool("only_verify_leaf_cert_crl"))
    f.error("CRLs are checked for the whole chain; leaf-only checking is not supported");
  for (const m of f.objects("match_typed_subject_alt_names")) {
    const sanType = m.enumValue("san_type", SAN_TYPES);
    if (sanType === "SAN_TYPE_UNSPECIFIED") m.error("must be set", "san_type");
    if (sanType === "OTHER_NAME") m.error("OTHER_NAME SANs are not supported", "san_type");
    m.skip("oid");
    const sub = m.object("matcher");
    if (!sub) m.error("is required", "matcher");
    const matcher = sub && decodeSanMatcher(sub, SAN_TYPE_OF[sanType] ?? "ANY");
    if (matcher) validation.sanMatchers.push(matcher);
    m.finish();
  }
  for (const m of f.objects("match_subject_alt_names")) {
    const matcher = decodeSanMatcher(m, "ANY");
    if (matcher) validation.sanMatchers.push(matcher);
  }
  validation.acceptUntrusted =
    f.enumValue("trust_chain_verification", ["VERIFY_TRUST_CHAIN", "ACCEPT_UNTRUSTED"]) ===
    "ACCEPT_UNTRUSTED";
  validation.allowExpiredCertificate = f.bool("allow_expired_certificate");
  for (const field of ["verify_certificate_spki", "verify_certificate_hash"])
    if (f.list(field).length > 0) f.error("certificate pinning is not supported", field);
  f.unsupported("custom_validator_config", "custom certificate validators are not supported");
  f.unsupported("ca_certificate_provider_instance", PROVIDERS_UNSUPPORTED);
  f.unsupported("max_verify_depth", "max_verify_depth is not supported by crema's proxy");
  // A message (SystemRootCerts {}), set or not: set, even empty, asks for the system's roots.
  f.unsupported("system_root_certs", "system root certificates are not supported");
  if (f.bool("require_signed_certificate_timestamp"))
    f.error(
      "signed certificate timestamps are not supported",
      "require_signed_certificate_timestamp",
    );
  f.skip("watched_directory");
  f.finish();
  return validation;
}

const SAN_TYPES = [
  "SAN_TYPE_UNSPECIFIED",
  "EMAIL",
  "DNS",
  "URI",
  "IP_ADDRESS",
  "OTHER_NAME",
] as const;
const SAN_TYPE_OF: Partial<Record<(typeof SAN_TYPES)[number], SanType>> = {
  EMAIL: "EMAIL",
  DNS: "DNS",
  URI: "URI",
  IP_ADDRESS: "IP_ADDRESS",
};

const MATCH_KINDS = ["exact", "prefix", "suffix", "safe_regex", "contains", "custom"] as const;

/** A StringMatcher as data (regexes are checked here and compiled when matching). */
function decodeSanMatcher(f: Fields, sanType: SanType): SanMatcher | undefined {
  const kind = f.oneof(MATCH_KINDS);
  const ignoreCase = f.bool("ignore_case");
  let matcher: SanMatcher | undefined;
  if (kind === undefined) f.error(`one of ${MATCH_KINDS.slice(0, 5).join(", ")} is required`);
  else if (kind === "custom") f.unsupported("custom", "custom string matchers are not supported");
  else if (kind === "safe_regex") {
    const r = f.object("safe_regex");
    const regex = r?.string("regex", 1) ?? "";
    r?.skip("google_re2");
    r?.finish();
    const problem = regex ? re2Problem(regex) : undefined;
    if (problem) f.error(problem, "safe_regex.regex");
    else if (regex) matcher = { sanType, kind: "regex", value: regex, ignoreCase: false };
  } else {
    const value = f.string(kind, kind === "exact" ? 0 : 1);
    matcher = { sanType, kind, value, ignoreCase };
  }
  f.skip(...MATCH_KINDS);
  f.finish();
  return matcher;
}

/** A DataSource (files are read when a handshake needs them; see DataSource). */
function dataSource(f: Fields): DataSource | undefined {
  const kind = f.oneof(["filename", "inline_string", "inline_bytes", "environment_variable"]);
  f.skip("watched_directory");
  let source: DataSource | undefined;
  if (kind === "filename") source = { filename: f.string("filename", 1) };
  else if (kind === "inline_string") source = { inline: f.string("inline_string") };
  else if (kind === "inline_bytes")
    source = { inline: Buffer.from(f.string("inline_bytes"), "base64").toString() };
  else if (kind === "environment_variable") {
    const name = f.string("environment_variable", 1);
    const value = process.env[name];
    if (value === undefined) f.error(`environment variable ${name} is not set`);
    else source = { inline: value };
  } else f.error("one of filename, inline_string, inline_bytes, environment_variable is required");
  f.skip("filename", "inline_string", "inline_bytes", "environment_variable");
  f.finish();
  return source;
}

function decodeTlsCertificate(f: Fields): CertificateSource | undefined {
  const chain = f.object("certificate_chain");
  const key = f.object("private_key");
  const password = f.object("password");
  f.unsupported("private_key_provider", "private key providers are not supported by crema's proxy");
  f.unsupported("pkcs12", "PKCS#12 certificates are not supported by crema's proxy");
  f.unsupported("ocsp_staple", "OCSP stapling is not supported by crema's proxy");
  f.unsupported("signed_certificate_timestamp", "signed certificate timestamps are not supported");
  f.skip("watched_directory");
  if (!chain) f.error("is required", "certificate_chain");
  if (!key) f.error("is required", "private_key");
  f.finish();
  const certificateChain = chain && dataSource(chain);
  const privateKey = key && dataSource(key);
  const passphrase = password && dataSource(password);
  if (!certificateChain || !privateKey) return undefined;
  return {
    kind: "inline",
    certificateChain,
    privateKey,
    ...(passphrase ? { password: passphrase } : {}),
  };
}

const VERSIONS = ["TLS_AUTO", "TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"] as const;
const NODE_VERSION: Record<(typeof VERSIONS)[number], TlsVersion | undefined> = {
  TLS_AUTO: undefined,
  TLSv1_0: "TLSv1",
  TLSv1_1: "TLSv1.1",
  TLSv1_2: "TLSv1.2",
  TLSv1_3: "TLSv1.3",
};

/** node's default TLS 1.3 suites: Envoy's cipher_suites never restrict TLS 1.3. */
const TLS13_SUITES = DEFAULT_CIPHERS.split(":").filter((c) => c.startsWith("TLS_"));

function decodeTlsParams(f: Fields): TlsParams {
  const params: TlsParams = {};
  const min = NODE_VERSION[f.enumValue("tls_minimum_protocol_version", VERSIONS)];
  const max = NODE_VERSION[f.enumValue("tls_maximum_protocol_version", VERSIONS)];
  if (min) params.minVersion = min;
  if (max) params.maxVersion = max;
  // BoringSSL's equal-preference groups `[a|b]` have no OpenSSL syntax: their order is kept.
  const ciphers = f
    .strings("cipher_suites")
    .flatMap((c) => c.replace(/^\[|\]$/g, "").split("|"))
    .filter((c) => c !== "");
  if (ciphers.length > 0) params.ciphers = [...TLS13_SUITES, ...ciphers].join(":");
  const curves = f.strings("ecdh_curves");
  if (curves.length > 0) params.ecdhCurve = curves.join(":");
  const sigalgs = f.strings("signature_algorithms");
  if (sigalgs.length > 0) params.sigalgs = sigalgs.join(":");
  f.unsupported("compliance_policies", "compliance policies are not supported by crema's proxy");
  f.finish();
  return params;
}

const ORDER: TlsVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/** The parameters node:tls must accept (unknown cipher or curve names are NACKed here). */
function checkParams(f: Fields, params: TlsParams, side: "server" | "client"): void {
  const { minVersion, maxVersion } = params;
  if (minVersion && maxVersion && ORDER.indexOf(minVersion) > ORDER.indexOf(maxVersion))
    f.error(
      `tls_minimum_protocol_version ${minVersion} is above tls_maximum_protocol_version ${maxVersion}`,
      "tls_params",
    );
  if (!params.ciphers && !params.ecdhCurve && !params.sigalgs) return;
  try {
    createSecureContext({
      ...(params.ciphers ? { ciphers: params.ciphers } : {}),
      ...(params.ecdhCurve ? { ecdhCurve: params.ecdhCurve } : {}),
      ...(params.sigalgs ? { sigalgs: params.sigalgs } : {}),
    });
  } catch (error) {
    f.error(`${side} TLS parameters rejected: ${(error as Error).message}`, "tls_params");
  }
}
