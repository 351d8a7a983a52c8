// Echo server settings: the EchoOptions type, defaults, and reading them from the environment.

import { hostname } from "node:os";
import { parseDuration } from "../base/duration.ts";
import { CremaError } from "../base/errors.ts";
import { type Logger, silentLogger } from "../base/logger.ts";
import { nodeHttp } from "../base/node-http.ts";

const { validateHeaderValue } = nodeHttp;

/** TLS for the HTTP port. Each of cert, key and ca is given as PEM text or as a file path. */
export interface EchoTlsOptions {
  cert?: string | Buffer;
  certFile?: string;
  key?: string | Buffer;
  keyFile?: string;
  /** CA bundle for client certificates. Setting it makes the server ask clients for one. */
  ca?: string | Buffer;
  caFile?: string;
  /** Refuse clients that present no certificate (needs a CA). Default: accept them. */
  requireClientCert?: boolean;
}

export interface EchoOptions {
  /** Address to bind every port to. Default 0.0.0.0. */
  host?: string;
  /** The HTTP/1.1 + HTTP/2 port; 0 picks a free one. Default 8080. */
  port?: number;
  /** gRPC port; the gRPC service runs only when this is set. */
  grpcPort?: number;
  /** Raw TCP echo port; runs only when this is set. */
  tcpPort?: number;
  pod?: string;
  namespace?: string;
  version?: string;
  serviceAccount?: string;
  labels?: Record<string, string>;
  tls?: EchoTlsOptions;
  /** How long stop() lets in-flight requests run before cutting connections. Default 5000. */
  drainTimeoutMs?: number;
  logger?: Logger;
}

/** Who this workload claims to be; echoed in every answer. */
export interface EchoIdentity {
  pod: string;
  namespace: string;
  version: string;
  serviceAccount: string;
  labels: Readonly<Record<string, string>>;
}

export interface ResolvedEchoOptions {
  host: string;
  port: number;
  grpcPort: number | undefined;
  tcpPort: number | undefined;
  identity: EchoIdentity;
  tls: EchoTlsOptions | undefined;
  drainTimeoutMs: number;
  logger: Logger;
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = "0.0.0.0";
export const DEFAULT_DRAIN_TIMEOUT_MS = 5000;

/** Parses a port number given as text (flag or environment variable); 0 means "any free port". */
export function parsePort(text: string, what: string): number {
  const trimmed = text.trim();
  if (!/^\d{1,5}$/.test(trimmed) || Number(trimmed) > 65535) {
    throw new CremaError(
      "CREMA_ECHO_INVALID_OPTION",
      `${what} must be a port number from 0 to 65535, got '${text}'`,
    );
  }
  return Number(trimmed);
}

/** Parses "k=v,k2=v2" (LABELS) into an object; blank entries are skipped. */
export function parseLabels(text: string, what = "LABELS"): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of text.split(",")) {
    if (entry.trim() === "") continue;
    const [key, value] = parseLabel(entry, what);
    labels[key] = value;
  }
  return labels;
}

/** Parses one "key=value" label. */
export function parseLabel(text: string, what = "--label"): [string, string] {
  const eq = text.indexOf("=");
  const key = eq < 0 ? "" : text.slice(0, eq).trim();
  if (key === "") {
    throw new CremaError(
      "CREMA_ECHO_INVALID_OPTION",
      `${what}: '${text}' is not a label; write key=value`,
    );
  }
  return [key, text.slice(eq + 1).trim()];
}

/** Parses a drain timeout: a plain number of milliseconds, or a duration such as "5s". */
export function parseDrainTimeout(text: string, what = "drain timeout"): number {
  const trimmed = text.trim();
  const parsed = /^\d+$/.test(trimmed)
    ? { ok: true as const, ms: Number(trimmed) }
    : parseDuration(trimmed);
  if (!parsed.ok || parsed.ms < 0 || !Number.isFinite(parsed.ms)) {
    throw new CremaError(
      "CREMA_ECHO_INVALID_OPTION",
      `${what} must be milliseconds or a duration such as '5s', got '${text}'`,
    );
  }
  return parsed.ms;
}

type Env = Readonly<Record<string, string | undefined>>;

function envValue(env: Env, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") return value.trim();
  }
  return undefined;
}

/**
 * Reads the options the environment sets (HOST, PORT, GRPC_PORT, TCP_PORT, POD_NAME,
 * POD_NAMESPACE, SERVICE_VERSION or VERSION, SERVICE_ACCOUNT, LABELS, TLS_CERT, TLS_KEY, TLS_CA,
 * DRAIN_TIMEOUT). Unset or blank variables are left out so that defaults or flags apply.
 */
export function echoOptionsFromEnv(env: Env): EchoOptions {
  const options: EchoOptions = {};
  const host = envValue(env, "HOST");
  if (host !== undefined) options.host = host;
  const port = envValue(env, "PORT");
  if (port !== undefined) options.port = parsePort(port, "PORT");
  const grpcPort = envValue(env, "GRPC_PORT");
  if (grpcPort !== undefined) options.grpcPort = parsePort(grpcPort, "GRPC_PORT");
  const tcpPort = envValue(env, "TCP_PORT");
  if (tcpPort !== undefined) options.tcpPort = parsePort(tcpPort, "TCP_PORT");
  const pod = envValue(env, "POD_NAME");
  if (pod !== undefined) options.pod = pod;
  const namespace = envValue(env, "POD_NAMESPACE");
  if (namespace !== undefined) options.namespace = namespace;
  const version = envValue(env, "SERVICE_VERSION", "VERSION");
  if (version !== undefined) options.version = version;
  const serviceAccount = envValue(env, "SERVICE_ACCOUNT");
  if (serviceAccount !== undefined) options.serviceAccount = serviceAccount;
  const labels = envValue(env, "LABELS");
  if (labels !== undefined) options.labels = parseLabels(labels, "LABELS");
  const certFile = envValue(env, "TLS_CERT");
  const keyFile = envValue(env, "TLS_KEY");
  const caFile = envValue(env, "TLS_CA");
  if (certFile !== undefined || keyFile !== undefined || caFile !== undefined) {
    options.tls = {};
    if (certFile !== undefined) options.tls.certFile = certFile;
    if (keyFile !== undefined) options.tls.keyFile = keyFile;
    if (caFile !== undefined) options.tls.caFile = caFile;
  }
  const drain = envValue(env, "DRAIN_TIMEOUT");
  if (drain !== undefined) options.drainTimeoutMs = parseDrainTimeout(drain, "DRAIN_TIMEOUT");
  return options;
}

function checkPort(value: number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new CremaError(
      "CREMA_ECHO_INVALID_OPTION",
      `${what} must be a port number from 0 to 65535, got ${value}`,
    );
  }
  return value;
}

/** Header-safe identity text: it is sent back in x-crema-pod and gRPC metadata. */
function checkIdentity(value: string, what: string): string {
  try {
    validateHeaderValue(what, value);
  } catch {
    throw new CremaError(
      "CREMA_ECHO_INVALID_OPTION",
      `${what} '${value}' contains characters that cannot be sent in a header`,
    );
  }
  return value;
}

/** Fills in defaults and checks values that a caller may have set programmatically. */
export function resolveEchoOptions(options: EchoOptions): ResolvedEchoOptions {
  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  if (!Number.isFinite(drainTimeoutMs) || drainTimeoutMs < 0) {
    throw new CremaError(
      "CREMA_ECHO_INVALID_OPTION",
      `drain timeout must be a non-negative number of milliseconds, got ${drainTimeoutMs}`,
    );
  }
  const tls = options.tls;
  if (tls && (tls.cert ?? tls.certFile) === undefined) {
    throw new CremaError("CREMA_ECHO_INVALID_OPTION", "TLS needs a certificate (--tls-cert)");
  }
  if (tls && (tls.key ?? tls.keyFile) === undefined) {
    throw new CremaError("CREMA_ECHO_INVALID_OPTION", "TLS needs a private key (--tls-key)");
  }
  if (tls?.requireClientCert && (tls.ca ?? tls.caFile) === undefined) {
    throw new CremaError(
      "CREMA_ECHO_INVALID_OPTION",
      "requiring client certificates needs a CA to verify them (--tls-ca)",
    );
  }
  return {
    host: options.host ?? DEFAULT_HOST,
    port: checkPort(options.port, "port") ?? DEFAULT_PORT,
    grpcPort: checkPort(options.grpcPort, "gRPC port"),
    tcpPort: checkPort(options.tcpPort, "TCP port"),
    identity: {
      pod: checkIdentity(options.pod ?? hostname(), "pod"),
      namespace: checkIdentity(options.namespace ?? "default", "namespace"),
      version: checkIdentity(options.version ?? "v1", "version"),
      serviceAccount: checkIdentity(options.serviceAccount ?? "default", "service account"),
      labels: Object.freeze({ ...options.labels }),
    },
    tls,
    drainTimeoutMs,
    logger: options.logger ?? silentLogger(),
  };
}
