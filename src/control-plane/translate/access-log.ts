// Access logging as istiod writes it (core/accesslog.go): the Telemetry API's accessLogging
// providers (envoyFileAccessLog, with CEL filters) when any Telemetry resource or
// defaultProviders.accessLogging configures logging; else meshConfig.accessLogFile. Either gives
// envoy.access_loggers.file AccessLogs on every HCM and tcp_proxy, in Istio's default TEXT or
// JSON format unless the provider or meshConfig.accessLogFormat replaces it.
import type { JsonObject } from "../../xds/proto-json.ts";
import { parseJsonAccessLogFormat } from "../model/mesh-access-log.ts";
import {
  type EnvoyFileAccessLogProvider,
  findExtensionProvider,
  type MeshConfig,
} from "../model/mesh-config.ts";
import { accessLogProviders, type WorkloadMode } from "../model/telemetry.ts";
import { typed } from "./listener-common.ts";
import { type TelemetryContext, telemetryOf } from "./telemetry-scope.ts";

export const FILE_ACCESS_LOG_NAME = "envoy.access_loggers.file";
const FILE_ACCESS_LOG_TYPE = "envoy.extensions.access_loggers.file.v3.FileAccessLog";
const CEL_FILTER_NAME = "envoy.access_loggers.extension_filters.cel";
const CEL_FILTER_TYPE = "envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter";

/** Istio's EnvoyTextLogFormat (1.9 onwards). */
export const ISTIO_TEXT_LOG_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% " +
  '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ' +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% ' +
  "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% " +
  "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";

/** Istio's EnvoyJSONLogFormatIstio. Its keys are a protobuf map, so they are sent sorted. */
export const ISTIO_JSON_LOG_FORMAT: Readonly<Record<string, string>> = {
  authority: "%REQ(:AUTHORITY)%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  connection_termination_details: "%CONNECTION_TERMINATION_DETAILS%",
  downstream_local_address: "%DOWNSTREAM_LOCAL_ADDRESS%",
  downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS%",
  duration: "%DURATION%",
  method: "%REQ(:METHOD)%",
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  protocol: "%PROTOCOL%",
  request_id: "%REQ(X-REQUEST-ID)%",
  requested_server_name: "%REQUESTED_SERVER_NAME%",
  response_code: "%RESPONSE_CODE%",
  response_code_details: "%RESPONSE_CODE_DETAILS%",
  response_flags: "%RESPONSE_FLAGS%",
  route_name: "%ROUTE_NAME%",
  start_time: "%START_TIME%",
  upstream_cluster: "%UPSTREAM_CLUSTER_RAW%",
  upstream_host: "%UPSTREAM_HOST%",
  upstream_local_address: "%UPSTREAM_LOCAL_ADDRESS%",
  upstream_service_time: "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
  upstream_transport_failure_reason: "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
  user_agent: "%REQ(USER-AGENT)%",
  x_forwarded_for: "%REQ(X-FORWARDED-FOR)%",
};

/** Istio's fileAccessLogFormat: a custom TEXT format always ends with a newline. */
function textFormat(custom: string): string {
  if (custom === "") return ISTIO_TEXT_LOG_FORMAT;
  return custom.endsWith("\n") ? custom : `${custom}\n`;
}

/** The SubstitutionFormatString for meshConfig's encoding and format. */
function logFormat(mesh: MeshConfig): JsonObject {
  if (mesh.accessLogEncoding === "JSON") {
    // Istio logs an unparsable custom JSON format and falls back to its default one.
    const parsed = mesh.accessLogFormat
      ? parseJsonAccessLogFormat(mesh.accessLogFormat)
      : undefined;
    const json = parsed?.ok ? (parsed.value as JsonObject) : { ...ISTIO_JSON_LOG_FORMAT };
    return { json_format: json };
  }
  return { text_format_source: { inline_string: textFormat(mesh.accessLogFormat ?? "") } };
}

function fileAccessLog(path: string, format: JsonObject, filterExpression?: string): JsonObject {
  return {
    name: FILE_ACCESS_LOG_NAME,
    ...(filterExpression
      ? {
          filter: {
            extension_filter: {
              name: CEL_FILTER_NAME,
              typed_config: typed(CEL_FILTER_TYPE, { expression: filterExpression }),
            },
          },
        }
      : {}),
    typed_config: typed(FILE_ACCESS_LOG_TYPE, { path, log_format: format }),
  };
}

/** Istio's FileAccessLogFromMeshConfig, or undefined when meshConfig.accessLogFile is empty. */
export function buildMeshFileAccessLog(mesh: MeshConfig): JsonObject | undefined {
  if (!mesh.accessLogFile) return undefined;
  return fileAccessLog(mesh.accessLogFile, logFormat(mesh));
}

/** An envoyFileAccessLog provider's format: text, JSON labels, or Istio's defaults. */
function providerLogFormat(provider: EnvoyFileAccessLogProvider): JsonObject {
  const format = provider.logFormat;
  if (format && "labels" in format) {
    const labels = Object.keys(format.labels).length > 0 ? format.labels : ISTIO_JSON_LOG_FORMAT;
    return { json_format: { ...labels } };
  }
  return { text_format_source: { inline_string: textFormat(format?.text ?? "") } };
}

/**
 * The `access_log` list of an HCM or tcp_proxy serving `mode`: [] when access logging is off.
 * Providers other than envoyFileAccessLog (OpenTelemetry or gRPC access log services) are not
 * built yet and log nothing.
 */
export function accessLogsFor(ctx: TelemetryContext, mode: WorkloadMode): JsonObject[] {
  const providers = accessLogProviders(telemetryOf(ctx), ctx.meshConfig, mode);
  if (providers === undefined) {
    const log = buildMeshFileAccessLog(ctx.meshConfig);
    return log ? [log] : [];
  }
  return [...providers]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([name, filter]) => {
      const provider = findExtensionProvider(ctx.meshConfig, name)?.envoyFileAccessLog;
      if (!provider) return [];
      return [fileAccessLog(provider.path, providerLogFormat(provider), filter)];
    });
}
