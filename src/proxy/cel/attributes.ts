// Envoy's attribute vocabulary (arch_overview/advanced/attributes) over one finished stream's
// StreamInfo: the values CEL expressions read as request.path, response.code, source.port …
// Every attribute is a getter, so an evaluation computes only what its expression reads; an
// attribute the stream lacks is undefined, which CEL sees as absent (reading it is an error).
import type { Duration } from "@marcbachmann/cel-js/evaluator";
import { addressPort, grpcStatus } from "../access-log/command-operators.ts";
import { RESPONSE_FLAGS } from "../http/response-flags.ts";
import type { StreamHeaders, StreamInfo } from "../http/stream-info.ts";
import { celValues } from "./library.ts";

/** One header's value: a repeated header's values joined with "," (as Envoy's CEL maps do). */
function headerValue(headers: StreamHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined || typeof value === "string") return value;
  return value.length === 0 ? undefined : value.join(",");
}

/** CEL's map<string, string> of headers: a Map, or a plain object already in that form. */
type HeaderMap = ReadonlyMap<string, string> | StreamHeaders;

/** True when every name is lower-case and every value one string, as received headers are. */
function isCelHeaderMap(headers: StreamHeaders): boolean {
  for (const name in headers) {
    if (typeof headers[name] !== "string" || name !== name.toLowerCase()) return false;
  }
  return true;
}

/** Headers as CEL's map: lower-case names, repeated values joined; copied only when needed. */
function headerMap(headers: StreamHeaders | undefined): HeaderMap {
  if (headers === undefined) return new Map();
  if (isCelHeaderMap(headers)) return headers;
  const map = new Map<string, string>();
  for (const name of Object.keys(headers)) {
    const value = headerValue(headers, name);
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const earlier = map.get(key);
    map.set(key, earlier === undefined ? value : `${earlier},${value}`);
  }
  return map;
}

/** CEL's int is a 64-bit integer, which the library represents as a bigint. */
function int(value: number | undefined): bigint | undefined {
  return value === undefined ? undefined : BigInt(value);
}

/** Envoy's response.flags bit vector: bit i is CoreResponseFlag i, RESPONSE_FLAGS' order. */
function responseFlagBits(info: StreamInfo): bigint {
  let bits = 0n;
  for (const flag of info.responseFlags) bits |= 1n << BigInt(RESPONSE_FLAGS.indexOf(flag));
  return bits;
}

// Getter names are the attribute names, snake_case as Envoy spells them.

export class RequestAttributes {
  readonly #info: StreamInfo;
  #headers: HeaderMap | undefined;
  constructor(info: StreamInfo) {
    this.#info = info;
  }
  get path(): string | undefined {
    return headerValue(this.#info.requestHeaders, ":path");
  }
  get url_path(): string | undefined {
    return this.path?.split("?", 1)[0];
  }
  get host(): string | undefined {
    const headers = this.#info.requestHeaders;
    return headerValue(headers, ":authority") ?? headerValue(headers, "host");
  }
  get scheme(): string | undefined {
    return headerValue(this.#info.requestHeaders, ":scheme");
  }
  get method(): string | undefined {
    return headerValue(this.#info.requestHeaders, ":method");
  }
  get headers(): HeaderMap {
    this.#headers ??= headerMap(this.#info.requestHeaders);
    return this.#headers;
  }
  get referer(): string | undefined {
    return headerValue(this.#info.requestHeaders, "referer");
  }
  get useragent(): string | undefined {
    return headerValue(this.#info.requestHeaders, "user-agent");
  }
  get id(): string | undefined {
    return headerValue(this.#info.requestHeaders, "x-request-id");
  }
  get protocol(): string | undefined {
    return this.#info.protocol;
  }
  get time(): Date {
    return new Date(this.#info.startTime);
  }
  get duration(): Duration {
    return celValues().Duration.fromMilliseconds(this.#info.durationMs);
  }
  get size(): bigint {
    return BigInt(this.#info.bytesReceived);
  }
  get total_size(): bigint {
    return BigInt(this.#info.wireBytesReceived);
  }
}

export class ResponseAttributes {
  readonly #info: StreamInfo;
  #headers: HeaderMap | undefined;
  #trailers: HeaderMap | undefined;
  constructor(info: StreamInfo) {
    this.#info = info;
  }
  /** 0 when no response was sent, so `response.code == 0` finds those streams. */
  get code(): bigint {
    return BigInt(this.#info.responseCode);
  }
  get code_details(): string | undefined {
    return this.#info.responseCodeDetails;
  }
  get flags(): bigint {
    return responseFlagBits(this.#info);
  }
  get grpc_status(): bigint | undefined {
    return int(grpcStatus(this.#info));
  }
  get headers(): HeaderMap {
    this.#headers ??= headerMap(this.#info.responseHeaders);
    return this.#headers;
  }
  get trailers(): HeaderMap {
    this.#trailers ??= headerMap(this.#info.responseTrailers);
    return this.#trailers;
  }
  get size(): bigint {
    return BigInt(this.#info.bytesSent);
  }
  get total_size(): bigint {
    return BigInt(this.#info.wireBytesSent);
  }
}

export class ConnectionAttributes {
  readonly #info: StreamInfo;
  constructor(info: StreamInfo) {
    this.#info = info;
  }
  /** The StreamInfo keeps the peer's URI SAN, which only a peer certificate provides. */
  get mtls(): boolean {
    return this.#info.downstreamPeerUriSan !== undefined;
  }
  /** Envoy answers "" for a connection without SNI. */
  get requested_server_name(): string {
    return this.#info.requestedServerName ?? "";
  }
  get termination_details(): string | undefined {
    return this.#info.connectionTerminationDetails;
  }
  get uri_san_peer_certificate(): string | undefined {
    return this.#info.downstreamPeerUriSan;
  }
  get uri_san_local_certificate(): string | undefined {
    return this.#info.downstreamLocalUriSan;
  }
}

/** source.* and destination.*: one side of the downstream connection, `ip:port`. */
export class PeerAttributes {
  readonly #address: string;
  constructor(address: string) {
    this.#address = address;
  }
  get address(): string {
    return this.#address;
  }
  get port(): bigint | undefined {
    return int(addressPort(this.#address));
  }
}

export class UpstreamAttributes {
  readonly #info: StreamInfo;
  constructor(info: StreamInfo) {
    this.#info = info;
  }
  get address(): string | undefined {
    return this.#info.upstreamHost;
  }
  get port(): bigint | undefined {
    return int(addressPort(this.#info.upstreamHost));
  }
  get local_address(): string | undefined {
    return this.#info.upstreamLocalAddress;
  }
  get transport_failure_reason(): string | undefined {
    return this.#info.upstreamTransportFailureReason;
  }
  get uri_san_peer_certificate(): string | undefined {
    return this.#info.upstreamPeerUriSan;
  }
  get uri_san_local_certificate(): string | undefined {
    return this.#info.upstreamLocalUriSan;
  }
}

export class XdsAttributes {
  readonly #info: StreamInfo;
  constructor(info: StreamInfo) {
    this.#info = info;
  }
  get cluster_name(): string | undefined {
    return this.#info.upstreamCluster;
  }
  get route_name(): string | undefined {
    return this.#info.routeName;
  }
}

/**
 * The top-level names an expression evaluates against. Each group is built on first use and
 * kept, so `response.code >= 400 || response.code == 0` reads one ResponseAttributes.
 */
export class StreamAttributes {
  readonly #info: StreamInfo;
  #request: RequestAttributes | undefined;
  #response: ResponseAttributes | undefined;
  #connection: ConnectionAttributes | undefined;
  #source: PeerAttributes | undefined;
  #destination: PeerAttributes | undefined;
  #upstream: UpstreamAttributes | undefined;
  #xds: XdsAttributes | undefined;
  constructor(info: StreamInfo) {
    this.#info = info;
  }
  get request(): RequestAttributes {
    this.#request ??= new RequestAttributes(this.#info);
    return this.#request;
  }
  get response(): ResponseAttributes {
    this.#response ??= new ResponseAttributes(this.#info);
    return this.#response;
  }
  get connection(): ConnectionAttributes {
    this.#connection ??= new ConnectionAttributes(this.#info);
    return this.#connection;
  }
  get source(): PeerAttributes {
    this.#source ??= new PeerAttributes(this.#info.downstreamRemoteAddress);
    return this.#source;
  }
  get destination(): PeerAttributes {
    this.#destination ??= new PeerAttributes(this.#info.downstreamLocalAddress);
    return this.#destination;
  }
  get upstream(): UpstreamAttributes {
    this.#upstream ??= new UpstreamAttributes(this.#info);
    return this.#upstream;
  }
  get xds(): XdsAttributes {
    this.#xds ??= new XdsAttributes(this.#info);
    return this.#xds;
  }
}

/** Each top-level name with the class of its value, for declaring them to the CEL checker. */
export const ATTRIBUTE_GROUPS = {
  request: RequestAttributes,
  response: ResponseAttributes,
  connection: ConnectionAttributes,
  source: PeerAttributes,
  destination: PeerAttributes,
  upstream: UpstreamAttributes,
  xds: XdsAttributes,
} as const satisfies Record<keyof StreamAttributes, abstract new (...args: never[]) => object>;
