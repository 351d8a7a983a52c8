// Envoy's access log command operators over a StreamInfo: which operators exist, which render
// numbers in typed JSON, and each one's value for one finished stream or connection.
import { hostname } from "node:os";
import { httpToGrpcStatus, parseGrpcStatus } from "../http/grpc-status.ts";
import { formatResponseFlags } from "../http/response-flags.ts";
import type { StreamHeaders, StreamInfo } from "../http/stream-info.ts";
import { formatStartTime } from "./start-time.ts";
import type { CommandOperator, GrpcStatusOperator, HeaderOperator } from "./types.ts";

/** What an operator yields: undefined means "not set" (Envoy's `-`, or null in typed JSON). */
export type OperatorValue = string | number | undefined;

/** `ip:port` → `ip` (IPv6 without its brackets, as Envoy's *_WITHOUT_PORT operators print it). */
export function addressWithoutPort(address: string | undefined): string | undefined {
  if (!address) return undefined;
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    return end > 0 ? address.slice(1, end) : address;
  }
  const colon = address.lastIndexOf(":");
  return colon > 0 ? address.slice(0, colon) : address;
}

export function addressPort(address: string | undefined): number | undefined {
  if (!address) return undefined;
  const colon = address.lastIndexOf(":");
  if (colon < 0 || (address.startsWith("[") && address.lastIndexOf("]") > colon)) return undefined;
  const port = Number(address.slice(colon + 1));
  return Number.isInteger(port) ? port : undefined;
}

let cachedHostname: string | undefined;
function localHostname(): string {
  cachedHostname ??= hostname();
  return cachedHostname;
}

type FieldGetter = (info: StreamInfo) => OperatorValue;

/** Operators without arguments; those marked numeric render as JSON numbers in typed JSON. */
const FIELDS: Record<string, { numeric: boolean; get: FieldGetter }> = {
  PROTOCOL: { numeric: false, get: (i) => i.protocol },
  RESPONSE_CODE: { numeric: true, get: (i) => i.responseCode },
  RESPONSE_CODE_DETAILS: { numeric: false, get: (i) => i.responseCodeDetails },
  CONNECTION_TERMINATION_DETAILS: { numeric: false, get: (i) => i.connectionTerminationDetails },
  RESPONSE_FLAGS: { numeric: false, get: (i) => formatResponseFlags(i.responseFlags) },
  RESPONSE_FLAGS_LONG: { numeric: false, get: (i) => formatResponseFlags(i.responseFlags, true) },
  BYTES_RECEIVED: { numeric: true, get: (i) => i.bytesReceived },
  BYTES_SENT: { numeric: true, get: (i) => i.bytesSent },
  DOWNSTREAM_WIRE_BYTES_RECEIVED: { numeric: true, get: (i) => i.wireBytesReceived },
  DOWNSTREAM_WIRE_BYTES_SENT: { numeric: true, get: (i) => i.wireBytesSent },
  DURATION: { numeric: true, get: (i) => Math.floor(i.durationMs) },
  UPSTREAM_TRANSPORT_FAILURE_REASON: {
    numeric: false,
    get: (i) => i.upstreamTransportFailureReason,
  },
  UPSTREAM_HOST: { numeric: false, get: (i) => i.upstreamHost },
  UPSTREAM_REMOTE_ADDRESS: { numeric: false, get: (i) => i.upstreamHost },
  UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: {
    numeric: false,
    get: (i) => addressWithoutPort(i.upstreamHost),
  },
  UPSTREAM_REMOTE_PORT: { numeric: true, get: (i) => addressPort(i.upstreamHost) },
  // crema's clusters have no alt_stat_name, so the observable name is the raw one.
  UPSTREAM_CLUSTER: { numeric: false, get: (i) => i.upstreamCluster },
  UPSTREAM_CLUSTER_RAW: { numeric: false, get: (i) => i.upstreamCluster },
  UPSTREAM_LOCAL_ADDRESS: { numeric: false, get: (i) => i.upstreamLocalAddress },
  UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: {
    numeric: false,
    get: (i) => addressWithoutPort(i.upstreamLocalAddress),
  },
  UPSTREAM_LOCAL_PORT: { numeric: true, get: (i) => addressPort(i.upstreamLocalAddress) },
  DOWNSTREAM_LOCAL_ADDRESS: { numeric: false, get: (i) => i.downstreamLocalAddress },
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: {
    numeric: false,
    get: (i) => addressWithoutPort(i.downstreamLocalAddress),
  },
  DOWNSTREAM_LOCAL_PORT: { numeric: true, get: (i) => addressPort(i.downstreamLocalAddress) },
  DOWNSTREAM_REMOTE_ADDRESS: { numeric: false, get: (i) => i.downstreamRemoteAddress },
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: {
    numeric: false,
    get: (i) => addressWithoutPort(i.downstreamRemoteAddress),
  },
  DOWNSTREAM_REMOTE_PORT: { numeric: true, get: (i) => addressPort(i.downstreamRemoteAddress) },
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: {
    numeric: false,
    get: (i) => i.downstreamDirectRemoteAddress,
  },
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: {
    numeric: false,
    get: (i) => addressWithoutPort(i.downstreamDirectRemoteAddress),
  },
  DOWNSTREAM_DIRECT_REMOTE_PORT: {
    numeric: true,
    get: (i) => addressPort(i.downstreamDirectRemoteAddress),
  },
  REQUESTED_SERVER_NAME: { numeric: false, get: (i) => i.requestedServerName || undefined },
  ROUTE_NAME: { numeric: false, get: (i) => i.routeName || undefined },
  DOWNSTREAM_PEER_URI_SAN: { numeric: false, get: (i) => i.downstreamPeerUriSan || undefined },
  DOWNSTREAM_LOCAL_URI_SAN: { numeric: false, get: (i) => i.downstreamLocalUriSan || undefined },
  UPSTREAM_PEER_URI_SAN: { numeric: false, get: (i) => i.upstreamPeerUriSan || undefined },
  UPSTREAM_LOCAL_URI_SAN: { numeric: false, get: (i) => i.upstreamLocalUriSan || undefined },
  TRACE_ID: { numeric: false, get: (i) => i.traceId },
  GRPC_STATUS_NUMBER: { numeric: true, get: (i) => grpcStatusOfGrpcRequest(i) },
  HOSTNAME: { numeric: false, get: () => localHostname() },
};

/** Header operators by name; newer Envoy spells them out (REQUEST_HEADER …). */
export const HEADER_OPERATORS: Readonly<Record<string, HeaderOperator["source"]>> = {
  REQ: "request",
  REQUEST_HEADER: "request",
  RESP: "response",
  RESPONSE_HEADER: "response",
  TRAILER: "trailer",
  RESPONSE_TRAILER: "trailer",
};

export function isFieldOperator(name: string): boolean {
  return Object.hasOwn(FIELDS, name);
}

/** True when the operator renders a JSON number in typed JSON (when it is a value's only part). */
export function isNumericOperator(operator: CommandOperator): boolean {
  if (operator.kind === "field") return FIELDS[operator.name]!.numeric;
  return operator.kind === "grpc_status" && operator.style === "NUMBER";
}

function firstValue(headers: StreamHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined || typeof value === "string") return value;
  return (value as readonly string[])[0];
}

function headerValue(op: HeaderOperator, info: StreamInfo): string | undefined {
  const headers =
    op.source === "request"
      ? info.requestHeaders
      : op.source === "response"
        ? info.responseHeaders
        : info.responseTrailers;
  const main = firstValue(headers, op.main);
  if (main !== undefined || op.alternative === undefined) return main;
  return firstValue(headers, op.alternative);
}

/** Envoy's Grpc::Common::getGrpcStatus: trailers, then headers, then the HTTP status mapped. */
export function grpcStatus(info: StreamInfo): number | undefined {
  const explicit =
    parseGrpcStatus(firstValue(info.responseTrailers, "grpc-status")) ??
    parseGrpcStatus(firstValue(info.responseHeaders, "grpc-status"));
  if (explicit !== undefined) return explicit;
  return info.responseCode > 0 ? httpToGrpcStatus(info.responseCode) : undefined;
}

/** %GRPC_STATUS% is unset unless the request was gRPC (content-type application/grpc…). */
function grpcStatusOfGrpcRequest(info: StreamInfo): number | undefined {
  const contentType = firstValue(info.requestHeaders, "content-type");
  return contentType?.startsWith("application/grpc") ? grpcStatus(info) : undefined;
}

const GRPC_NAMES = [
  ["Ok", "OK"],
  ["Canceled", "CANCELLED"],
  ["Unknown", "UNKNOWN"],
  ["InvalidArgument", "INVALID_ARGUMENT"],
  ["DeadlineExceeded", "DEADLINE_EXCEEDED"],
  ["NotFound", "NOT_FOUND"],
  ["AlreadyExists", "ALREADY_EXISTS"],
  ["PermissionDenied", "PERMISSION_DENIED"],
  ["ResourceExhausted", "RESOURCE_EXHAUSTED"],
  ["FailedPrecondition", "FAILED_PRECONDITION"],
  ["Aborted", "ABORTED"],
  ["OutOfRange", "OUT_OF_RANGE"],
  ["Unimplemented", "UNIMPLEMENTED"],
  ["Internal", "INTERNAL"],
  ["Unavailable", "UNAVAILABLE"],
  ["DataLoss", "DATA_LOSS"],
  ["Unauthenticated", "UNAUTHENTICATED"],
] as const;

function grpcStatusValue(op: GrpcStatusOperator, info: StreamInfo): OperatorValue {
  const status = grpcStatusOfGrpcRequest(info);
  if (status === undefined) return undefined;
  if (op.style === "NUMBER") return status;
  const names = GRPC_NAMES[status];
  if (!names) return String(status);
  return op.style === "CAMEL_STRING" ? names[0] : names[1];
}

/** The operator's value for one stream. */
export function operatorValue(op: CommandOperator, info: StreamInfo): OperatorValue {
  switch (op.kind) {
    case "field":
      return FIELDS[op.name]!.get(info);
    case "header":
      return headerValue(op, info);
    case "start_time":
      return formatStartTime(info.startTime, op.format);
    case "grpc_status":
      return grpcStatusValue(op, info);
  }
}
