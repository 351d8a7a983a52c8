// MeshConfig: the mesh-wide settings istiod reads from its `mesh` ConfigMap. Only the fields
// crema honours so far; names and defaults as in Istio's meshconfig.MeshConfig.
import { type FieldPath, formatFieldPath, type SourcePosition } from "../../config/diagnostic.ts";
import type { ParsedDocument } from "../../config/yaml-documents.ts";

export type OutboundTrafficPolicyMode = "ALLOW_ANY" | "REGISTRY_ONLY";
export type PathNormalization = "NONE" | "BASE" | "MERGE_SLASHES" | "DECODE_AND_MERGE_SLASHES";
export type AccessLogEncoding = "TEXT" | "JSON";

/** A header an OpenTelemetry exporter sends (MeshConfig.ExtensionProvider.HttpHeader, value only). */
export interface ProviderHeader {
  name: string;
  value: string;
}

/**
 * meshConfig.extensionProviders[].opentelemetry: OTLP to `service:port`, over gRPC unless `http`
 * is set.
 */
export interface OpenTelemetryTracingProvider {
  service: string;
  port: number;
  maxTagLength?: number;
  http?: { path?: string; timeoutMs?: number; headers?: readonly ProviderHeader[] };
  grpc?: { timeoutMs?: number; initialMetadata?: readonly ProviderHeader[] };
}

/** meshConfig.extensionProviders[].zipkin. */
export interface ZipkinTracingProvider {
  service: string;
  port: number;
  maxTagLength?: number;
  path?: string;
  enable64bitTraceId?: boolean;
}

/** includeRequestBodyInCheck: the request body buffered into the check (Envoy's BufferSettings). */
export interface ExtAuthzRequestBody {
  maxRequestBytes?: number;
  allowPartialMessage?: boolean;
  packAsBytes?: boolean;
}

/** What both external authorizer kinds share; `service` is `[<namespace>/]<hostname>`. */
export interface ExtAuthzProviderCommon {
  service: string;
  port: number;
  timeoutMs?: number;
  failOpen?: boolean;
  /** The HTTP status sent when the authorizer cannot be reached (Envoy's default 403). */
  statusOnError?: number;
  includeRequestBodyInCheck?: ExtAuthzRequestBody;
}

/**
 * meshConfig.extensionProviders[].envoyExtAuthzHttp. Header lists hold names, `prefix*` or
 * `*suffix`, matched without case.
 */
export interface EnvoyExtAuthzHttpProvider extends ExtAuthzProviderCommon {
  pathPrefix?: string;
  includeRequestHeadersInCheck?: readonly string[];
  includeAdditionalHeadersInCheck?: Readonly<Record<string, string>>;
  headersToUpstreamOnAllow?: readonly string[];
  headersToDownstreamOnDeny?: readonly string[];
  headersToDownstreamOnAllow?: readonly string[];
}

/** meshConfig.extensionProviders[].envoyExtAuthzGrpc. */
export type EnvoyExtAuthzGrpcProvider = ExtAuthzProviderCommon;

/**
 * meshConfig.extensionProviders[].envoyFileAccessLog: Envoy's file access logger. No logFormat
 * is Istio's default TEXT format; `labels` is JSON (Istio's default JSON format when empty).
 */
export interface EnvoyFileAccessLogProvider {
  path: string;
  logFormat?: { text: string } | { labels: Readonly<Record<string, string>> };
}

interface ProviderKinds {
  opentelemetry: OpenTelemetryTracingProvider;
  zipkin: ZipkinTracingProvider;
  envoyExtAuthzHttp: EnvoyExtAuthzHttpProvider;
  envoyExtAuthzGrpc: EnvoyExtAuthzGrpcProvider;
  envoyFileAccessLog: EnvoyFileAccessLogProvider;
  /** Istio's standard metrics, served for Prometheus (the stats filter); no settings. */
  prometheus: Readonly<Record<string, never>>;
}

/** meshConfig.extensionProviders[]: one named provider of a kind crema knows. */
export type ExtensionProvider = {
  [K in keyof ProviderKinds]: { name: string } & { [P in K]: ProviderKinds[P] } & {
    [P in Exclude<keyof ProviderKinds, K>]?: undefined;
  };
}[keyof ProviderKinds];

export interface MeshConfig {
  /** Namespace whose config applies mesh-wide (Istio: istio-system). */
  rootNamespace: string;
  trustDomain: string;
  /** DNS suffix of Kubernetes services. */
  domainSuffix: string;
  outboundTrafficPolicy: OutboundTrafficPolicyMode;
  /** Default connect timeout for upstream clusters, ms (Istio: 10 s). */
  connectTimeoutMs: number;
  /** Default HTTP idle timeout of upstream connections, ms (Istio: 1 h). */
  httpIdleTimeoutMs: number;
  /** Send Istio mTLS automatically to destinations that have a sidecar. */
  enableAutoMtls: boolean;
  pathNormalization: PathNormalization;
  /** Locality-aware load balancing (only takes effect with outlier detection). */
  localityLbEnabled: boolean;
  /**
   * defaultConfig.tracing.sampling: percent of requests traced when no Telemetry resource sets
   * one (Istio: PILOT_TRACE_SAMPLING, 1; the demo profile 100). 0 falls back to that default.
   */
  tracingSamplingPercent: number;
  /** enableTracing (Istio default true); off, no HCM gets a tracing block. */
  enableTracing: boolean;
  /**
   * extensionProviders as written: tracers, access loggers, metrics and external authorizers
   * (other kinds are not read). Istio's built-in `prometheus` and `envoy` providers are added by
   * findExtensionProvider unless a provider here takes their name.
   */
  extensionProviders: readonly ExtensionProvider[];
  /** defaultProviders.tracing: the first name is the mesh's tracer (as istiod picks it). */
  defaultTracingProviders: readonly string[];
  /** defaultProviders.metrics (Istio's standard install: prometheus). */
  defaultMetricsProviders: readonly string[];
  /** defaultProviders.accessLogging (none by default: access logs are off). */
  defaultAccessLogProviders: readonly string[];
  /**
   * crema's switch, not Istio's: proxies carry workload certificates (crema's CA issues them,
   * SDS `default`/`ROOTCA`). Istio mTLS and the identity-based AuthorizationPolicy depend on it.
   * Off, proxies talk plaintext — no DestinationRule `tls`, no auto-mTLS, no mTLS inbound chains,
   * PeerAuthentication ignored — and AuthorizationPolicy is not enforced (a principal could never
   * match).
   */
  workloadCertificates: boolean;
  /** Where every proxy writes access logs (`/dev/stdout` …); "" turns them off. */
  accessLogFile: string;
  accessLogEncoding: AccessLogEncoding;
  /**
   * Custom format: an Envoy format string (TEXT), or a JSON object of format strings (JSON);
   * "" for Istio's default format.
   */
  accessLogFormat: string;
  /** Ports the ingress gateway pods listen on, by Gateway server port (local runtime). */
  ingressGatewayPorts?: Readonly<Record<number, number>>;
}

export const DEFAULT_MESH_CONFIG: Readonly<MeshConfig> = {
  rootNamespace: "istio-system",
  trustDomain: "cluster.local",
  domainSuffix: "cluster.local",
  outboundTrafficPolicy: "ALLOW_ANY",
  connectTimeoutMs: 10_000,
  httpIdleTimeoutMs: 3_600_000,
  enableAutoMtls: true,
  pathNormalization: "BASE",
  localityLbEnabled: true,
  tracingSamplingPercent: 1,
  enableTracing: true,
  extensionProviders: [],
  defaultTracingProviders: [],
  defaultMetricsProviders: ["prometheus"],
  defaultAccessLogProviders: [],
  workloadCertificates: false,
  accessLogFile: "",
  accessLogEncoding: "TEXT",
  accessLogFormat: "",
};

/** The providers every Istio mesh config has (pkg/config/mesh DefaultMeshConfig). */
const BUILT_IN_PROVIDERS: readonly ExtensionProvider[] = [
  { name: "prometheus", prometheus: {} },
  { name: "envoy", envoyFileAccessLog: { path: "/dev/stdout" } },
];

/** The extension provider called `name` (case-insensitive, as istiod's fetchProvider). */
export function findExtensionProvider(
  mesh: Pick<MeshConfig, "extensionProviders">,
  name: string,
): ExtensionProvider | undefined {
  const wanted = name.toLowerCase();
  const named = (p: ExtensionProvider) => p.name.toLowerCase() === wanted;
  return mesh.extensionProviders.find(named) ?? BUILT_IN_PROVIDERS.find(named);
}

// ---- Reading Istio's MeshConfig YAML (`crema control-plane --mesh-config`) ----

/** A problem in a mesh config file: the field path and its position in the file. */
export interface MeshConfigProblem {
  path: string;
  position: SourcePosition;
  message: string;
}

export interface DecodedMeshConfig {
  meshConfig: Partial<MeshConfig>;
  errors: MeshConfigProblem[];
  /** Fields crema does not read: named, so nobody believes they took effect. */
  warnings: MeshConfigProblem[];
}

const DEFAULT_PROVIDER_FIELDS: Readonly<
  Record<
    string,
    "defaultTracingProviders" | "defaultMetricsProviders" | "defaultAccessLogProviders"
  >
> = {
  tracing: "defaultTracingProviders",
  metrics: "defaultMetricsProviders",
  accessLogging: "defaultAccessLogProviders",
};
const ACCESS_LOG_FIELDS = ["accessLogFile", "accessLogEncoding", "accessLogFormat"] as const;
const EXT_AUTHZ_COMMON_FIELDS = [
  "timeout",
  "failOpen",
  "statusOnError",
  "includeRequestBodyInCheck",
] as const;
const EXT_AUTHZ_HTTP_FIELDS = [
  "pathPrefix",
  "includeRequestHeadersInCheck",
  "includeHeadersInCheck",
  "includeAdditionalHeadersInCheck",
  "headersToUpstreamOnAllow",
  "headersToDownstreamOnDeny",
  "headersToDownstreamOnAllow",
] as const;

/** The codes of Envoy's envoy.type.v3.StatusCode enum (what statusOnError may name). */
const ENVOY_STATUS_CODES: ReadonlySet<number> = new Set([
  100, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421,
  422, 423, 424, 426, 428, 429, 431, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

/**
 * Decodes one MeshConfig document (the `mesh` key of istio's ConfigMap, or an IstioOperator's
 * spec.meshConfig): access logs and tracing. Other fields are reported as warnings.
 */
export function decodeMeshConfig(
  document: Pick<ParsedDocument, "value" | "locate">,
): DecodedMeshConfig {
  const out: DecodedMeshConfig = { meshConfig: {}, errors: [], warnings: [] };
  const problem = (list: MeshConfigProblem[], path: FieldPath, message: string): void => {
    list.push({ path: formatFieldPath(path), position: document.locate(path), message });
  };
  const error = (path: FieldPath, message: string) => problem(out.errors, path, message);
  const root = document.value;
  if (!isRecord(root)) {
    error([], "a MeshConfig is a mapping of fields (accessLogFile, extensionProviders …)");
    return out;
  }
  const str = (path: FieldPath, value: unknown): string | undefined => {
    if (typeof value === "string") return value;
    error(path, "expected a string");
    return undefined;
  };
  const num = (path: FieldPath, value: unknown, min: number, max: number): number | undefined => {
    if (typeof value === "number" && Number.isFinite(value) && value >= min && value <= max)
      return value;
    error(path, `expected a number between ${min} and ${max}`);
    return undefined;
  };
  const durationMs = (path: FieldPath, value: unknown): number | undefined => {
    const match = typeof value === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value) : null;
    if (!match) {
      error(path, 'expected a duration such as "10s" or "500ms"');
      return undefined;
    }
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as "ms" | "s" | "m" | "h"];
    return Number(match[1]) * unit;
  };
  const headers = (path: FieldPath, value: unknown): ProviderHeader[] =>
    list(path, value).flatMap(([item, at]) => {
      const name = str([...at, "name"], item.name);
      if (item.envName !== undefined)
        error([...at, "envName"], "envName headers are not supported; give the value");
      const v = str([...at, "value"], item.value ?? "");
      return name !== undefined && v !== undefined ? [{ name, value: v }] : [];
    });
  const list = (path: FieldPath, value: unknown): [Record<string, unknown>, FieldPath][] => {
    if (!Array.isArray(value)) {
      error(path, "expected a list");
      return [];
    }
    return value.flatMap((item, i) => {
      if (isRecord(item)) return [[item, [...path, i]] as [Record<string, unknown>, FieldPath]];
      error([...path, i], "expected a mapping");
      return [];
    });
  };
  const bool = (path: FieldPath, value: unknown): boolean | undefined => {
    if (typeof value === "boolean") return value;
    error(path, "expected true or false");
    return undefined;
  };
  // Istio's header lists: a lone "*" is refused (it would send every header).
  const headerList = (path: FieldPath, value: unknown): string[] | undefined => {
    if (!Array.isArray(value) || !value.every((h) => typeof h === "string" && h !== "")) {
      error(path, "expected a list of header names");
      return undefined;
    }
    const star = value.indexOf("*");
    if (star >= 0) {
      error([...path, star], 'a single "*" is not supported; use a prefix* or *suffix pattern');
      return undefined;
    }
    return value as string[];
  };
  const extAuthz = (
    path: FieldPath,
    p: unknown,
    http: boolean,
  ): EnvoyExtAuthzHttpProvider | undefined => {
    if (!isRecord(p)) {
      error(path, "expected a mapping with service and port");
      return undefined;
    }
    const failures = out.errors.length;
    const service = str([...path, "service"], p.service);
    if (service === "") error([...path, "service"], "must not be empty");
    // protojson reads a uint32 from a numeric string too ("9000").
    const rawPort = typeof p.port === "string" && /^\d+$/.test(p.port) ? Number(p.port) : p.port;
    const port = num([...path, "port"], rawPort, 1, 65535);
    const o: Record<string, unknown> = { service, port };
    const fields = http
      ? [...EXT_AUTHZ_COMMON_FIELDS, ...EXT_AUTHZ_HTTP_FIELDS]
      : EXT_AUTHZ_COMMON_FIELDS;
    for (const [field, v] of Object.entries(p)) {
      const at = [...path, field];
      if (field === "service" || field === "port") continue;
      if (!(fields as readonly string[]).includes(field)) {
        problem(out.warnings, at, "not read by crema");
        continue;
      }
      if (field === "timeout") o.timeoutMs = durationMs(at, v);
      else if (field === "failOpen") o.failOpen = bool(at, v);
      else if (field === "statusOnError") {
        // Istio's string form ("503"); Envoy accepts only the codes of its StatusCode enum.
        const code = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : Number.NaN;
        if (ENVOY_STATUS_CODES.has(code)) o.statusOnError = code;
        else error(at, 'expected an HTTP status code Envoy knows, as a string ("403", "503")');
      } else if (field === "pathPrefix") {
        const prefix = str(at, v);
        if (prefix !== undefined && prefix !== "" && !prefix.startsWith("/"))
          error(at, "must begin with /");
        else if (prefix) o.pathPrefix = prefix;
      } else if (field === "includeAdditionalHeadersInCheck") {
        if (!isRecord(v) || !Object.values(v).every((x) => typeof x === "string"))
          error(at, "expected a mapping of header names to values");
        else o.includeAdditionalHeadersInCheck = v;
      } else if (field === "includeRequestBodyInCheck") {
        // The translation writes with_request_body as istiod does, but crema's proxy would NACK
        // it (and with it the listener), so the mesh config is refused at start instead.
        error(at, "not supported by crema's proxy: the check cannot carry the request body yet");
      } else {
        // includeHeadersInCheck is Istio's deprecated name of includeRequestHeadersInCheck.
        const name = field === "includeHeadersInCheck" ? "includeRequestHeadersInCheck" : field;
        if (name !== field && p.includeRequestHeadersInCheck !== undefined) continue;
        o[name] = headerList(at, v);
      }
    }
    return out.errors.length === failures ? (o as unknown as EnvoyExtAuthzHttpProvider) : undefined;
  };
  const fileAccessLog = (path: FieldPath, p: unknown): EnvoyFileAccessLogProvider | undefined => {
    if (!isRecord(p)) {
      error(path, "expected a mapping (path, logFormat)");
      return undefined;
    }
    const file = p.path === undefined ? "" : str([...path, "path"], p.path);
    if (file === undefined) return undefined;
    const provider: EnvoyFileAccessLogProvider = { path: file || "/dev/stdout" };
    const format = p.logFormat;
    if (format === undefined) return provider;
    if (isRecord(format) && typeof format.text === "string" && format.labels === undefined)
      return { ...provider, logFormat: { text: format.text } };
    if (isRecord(format) && format.text === undefined && format.labels !== undefined) {
      const labels = format.labels;
      if (isRecord(labels) && Object.values(labels).every((v) => typeof v === "string"))
        return { ...provider, logFormat: { labels: labels as Record<string, string> } };
      error([...path, "logFormat", "labels"], "expected a mapping of JSON keys to format strings");
      return undefined;
    }
    error(
      [...path, "logFormat"],
      "set either text (a format string) or labels (JSON keys to format strings)",
    );
    return undefined;
  };
  const mesh = out.meshConfig as Record<string, unknown>;
  for (const [key, value] of Object.entries(root)) {
    if ((ACCESS_LOG_FIELDS as readonly string[]).includes(key)) {
      const text = str([key], value);
      if (text !== undefined) mesh[key] = key === "accessLogEncoding" ? text.toUpperCase() : text;
    } else if (key === "enableTracing") {
      if (typeof value === "boolean") out.meshConfig.enableTracing = value;
      else error([key], "expected true or false");
    } else if (key === "defaultProviders") {
      if (!isRecord(value)) {
        error([key], "expected a mapping (tracing, accessLogging, metrics)");
        continue;
      }
      for (const [kind, names] of Object.entries(value)) {
        const field = DEFAULT_PROVIDER_FIELDS[kind];
        if (!field) {
          problem(
            out.warnings,
            [key, kind],
            "not read by crema (tracing, metrics and accessLogging are)",
          );
          continue;
        }
        if (!Array.isArray(names) || !names.every((n) => typeof n === "string"))
          error([key, kind], "expected a list of provider names");
        else out.meshConfig[field] = names as string[];
      }
    } else if (key === "defaultConfig") {
      if (!isRecord(value)) {
        error([key], "expected a mapping (ProxyConfig)");
        continue;
      }
      for (const [field, sub] of Object.entries(value)) {
        if (field !== "tracing" || !isRecord(sub)) {
          problem(out.warnings, [key, field], "not read by crema (only tracing.sampling is)");
          continue;
        }
        for (const [name, v] of Object.entries(sub)) {
          if (name === "sampling") {
            const sampling = num([key, field, name], v, 0, 100);
            if (sampling !== undefined) out.meshConfig.tracingSamplingPercent = sampling;
          } else problem(out.warnings, [key, field, name], "not read by crema");
        }
      }
    } else if (key === "extensionProviders") {
      const providers: ExtensionProvider[] = [];
      for (const [item, at] of list([key], value)) {
        const name = str([...at, "name"], item.name);
        const otel = item.opentelemetry;
        const zipkin = item.zipkin;
        const common = (kind: string, p: unknown) => {
          if (!isRecord(p)) {
            error([...at, kind], "expected a mapping with service and port");
            return undefined;
          }
          const service = str([...at, kind, "service"], p.service);
          const port = num([...at, kind, "port"], p.port, 1, 65535);
          if (service === undefined || port === undefined) return undefined;
          const maxTagLength =
            p.maxTagLength === undefined
              ? undefined
              : num([...at, kind, "maxTagLength"], p.maxTagLength, 0, 2 ** 32 - 1);
          return { p, service, port, ...(maxTagLength ? { maxTagLength } : {}) };
        };
        if (name === undefined) continue;
        if (otel !== undefined) {
          const base = common("opentelemetry", otel);
          if (!base) continue;
          const { p, ...provider } = base;
          const o: OpenTelemetryTracingProvider = provider;
          if (isRecord(p.http)) {
            const at2 = [...at, "opentelemetry", "http"];
            o.http = {
              ...(p.http.path !== undefined
                ? { path: str([...at2, "path"], p.http.path) ?? "" }
                : {}),
              ...(p.http.timeout !== undefined
                ? { timeoutMs: durationMs([...at2, "timeout"], p.http.timeout) }
                : {}),
              ...(p.http.headers !== undefined
                ? { headers: headers([...at2, "headers"], p.http.headers) }
                : {}),
            };
          }
          if (isRecord(p.grpc)) {
            const at2 = [...at, "opentelemetry", "grpc"];
            o.grpc = {
              ...(p.grpc.timeout !== undefined
                ? { timeoutMs: durationMs([...at2, "timeout"], p.grpc.timeout) }
                : {}),
              ...(p.grpc.initialMetadata !== undefined
                ? { initialMetadata: headers([...at2, "initialMetadata"], p.grpc.initialMetadata) }
                : {}),
            };
          }
          for (const field of ["resourceDetectors", "dynatraceSampler"])
            if (p[field] !== undefined)
              error([...at, "opentelemetry", field], "not supported by crema's proxy");
          providers.push({ name, opentelemetry: o });
        } else if (zipkin !== undefined) {
          const base = common("zipkin", zipkin);
          if (!base) continue;
          const { p, ...provider } = base;
          const path = p.path === undefined ? undefined : str([...at, "zipkin", "path"], p.path);
          const enable64bitTraceId =
            p.enable64bitTraceId === undefined
              ? undefined
              : bool([...at, "zipkin", "enable64bitTraceId"], p.enable64bitTraceId);
          // istiod writes these only into the collector_service / trace_context_option of 1.28+
          // proxies' ZipkinConfig, fields the Envoy protos crema speaks do not have.
          for (const field of ["traceContextOption", "timeout", "headers"])
            if (p[field] !== undefined)
              problem(
                out.warnings,
                [...at, "zipkin", field],
                "not supported by crema's proxy (ignored, as istiod ignores it for older proxies)",
              );
          providers.push({
            name,
            zipkin: {
              ...provider,
              ...(path ? { path } : {}),
              ...(enable64bitTraceId !== undefined ? { enable64bitTraceId } : {}),
            },
          });
        } else if (item.envoyExtAuthzHttp !== undefined) {
          const http = extAuthz([...at, "envoyExtAuthzHttp"], item.envoyExtAuthzHttp, true);
          if (http) providers.push({ name, envoyExtAuthzHttp: http });
        } else if (item.envoyExtAuthzGrpc !== undefined) {
          const grpc = extAuthz([...at, "envoyExtAuthzGrpc"], item.envoyExtAuthzGrpc, false);
          if (grpc) providers.push({ name, envoyExtAuthzGrpc: grpc });
        } else if (item.envoyFileAccessLog !== undefined) {
          const log = fileAccessLog([...at, "envoyFileAccessLog"], item.envoyFileAccessLog);
          if (log) providers.push({ name, envoyFileAccessLog: log });
        } else if (item.prometheus !== undefined) {
          providers.push({ name, prometheus: {} });
        } else {
          problem(
            out.warnings,
            at,
            "not read by crema (only opentelemetry, zipkin, envoyFileAccessLog, prometheus, envoyExtAuthzHttp and envoyExtAuthzGrpc are)",
          );
        }
      }
      out.meshConfig.extensionProviders = providers;
    } else if (key === "pathNormalization") {
      // ProxyPathNormalization.normalization; DEFAULT is BASE (istiod's listener builder).
      const mode = isRecord(value) ? value.normalization : undefined;
      const modes = ["DEFAULT", "NONE", "BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"];
      if (typeof mode === "string" && modes.includes(mode))
        out.meshConfig.pathNormalization = (
          mode === "DEFAULT" ? "BASE" : mode
        ) as PathNormalization;
      else error([key, "normalization"], `expected one of ${modes.join(", ")}`);
    } else {
      problem(out.warnings, [key], "not read by crema");
    }
  }
  const defaults = out.meshConfig.defaultTracingProviders ?? [];
  const providers = out.meshConfig.extensionProviders ?? [];
  defaults.forEach((name, i) => {
    const provider = providers.find((p) => p.name === name);
    if (!provider)
      error(
        ["defaultProviders", "tracing", i],
        `no extensionProviders entry is named ${JSON.stringify(name)}`,
      );
  });
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
