// Evaluates a parsed CEL filter (cel-expression.ts) against a StreamInfo. As in Envoy, an
// expression that errors (a missing attribute or header, mismatched types) does not log; `&&` and
// `||` absorb errors the way CEL's commutative logic does (`false && error` is false).
import type { StreamHeaders, StreamInfo } from "../http/stream-info.ts";
import { addressPort, grpcStatus } from "./command-operators.ts";
import type { CelNode } from "./types.ts";

const ERROR = Symbol("cel error");
type Value = string | number | boolean | null | readonly Value[] | typeof ERROR;

function header(headers: StreamHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name.toLowerCase()];
  if (value === undefined || typeof value === "string") return value;
  const list = value as readonly string[];
  return list.length === 0 ? undefined : list.join(",");
}

function attribute(path: readonly string[], info: StreamInfo): Value {
  const req = info.requestHeaders;
  let value: string | number | boolean | undefined;
  switch (`${path[0]}.${path[1]}`) {
    case "request.path":
      value = header(req, ":path");
      break;
    case "request.url_path": {
      const full = header(req, ":path");
      value = full === undefined ? undefined : full.split("?", 1)[0];
      break;
    }
    case "request.host":
      value = header(req, ":authority") ?? header(req, "host");
      break;
    case "request.scheme":
      value = header(req, ":scheme");
      break;
    case "request.method":
      value = header(req, ":method");
      break;
    case "request.headers":
      value = header(req, path[2]!);
      break;
    case "request.useragent":
      value = header(req, "user-agent");
      break;
    case "request.id":
      value = header(req, "x-request-id");
      break;
    case "request.referer":
      value = header(req, "referer");
      break;
    case "request.protocol":
      value = info.protocol;
      break;
    case "response.code":
      value = info.responseCode;
      break;
    case "response.code_details":
      value = info.responseCodeDetails;
      break;
    case "response.grpc_status":
      value = grpcStatus(info);
      break;
    case "response.headers":
      value = header(info.responseHeaders, path[2]!);
      break;
    case "response.trailers":
      value = header(info.responseTrailers, path[2]!);
      break;
    case "response.size":
      value = info.bytesSent;
      break;
    case "connection.mtls":
      // The StreamInfo carries the peer's URI SAN, set only when it presented a certificate.
      value = info.downstreamPeerUriSan !== undefined;
      break;
    case "connection.requested_server_name":
      value = info.requestedServerName ?? "";
      break;
    case "connection.termination_details":
      value = info.connectionTerminationDetails;
      break;
    case "connection.uri_san_peer_certificate":
      value = info.downstreamPeerUriSan;
      break;
    case "connection.uri_san_local_certificate":
      value = info.downstreamLocalUriSan;
      break;
    case "source.address":
      value = info.downstreamRemoteAddress;
      break;
    case "source.port":
      value = addressPort(info.downstreamRemoteAddress);
      break;
    case "destination.address":
      value = info.downstreamLocalAddress;
      break;
    case "destination.port":
      value = addressPort(info.downstreamLocalAddress);
      break;
    case "upstream.address":
      value = info.upstreamHost;
      break;
    case "upstream.port":
      value = addressPort(info.upstreamHost);
      break;
    case "xds.cluster_name":
      value = info.upstreamCluster;
      break;
    case "xds.route_name":
      value = info.routeName;
      break;
  }
  return value === undefined ? ERROR : value;
}

function equal(a: Value, b: Value): boolean | typeof ERROR {
  if (a === ERROR || b === ERROR) return ERROR;
  if (a === null || b === null) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) return ERROR;
  // CEL has no implicit conversions: comparing an int with a string is an error.
  if (typeof a !== typeof b) return ERROR;
  return a === b;
}

function evaluate(node: CelNode, info: StreamInfo): Value {
  switch (node.kind) {
    case "literal":
      return node.value;
    case "attribute":
      return attribute(node.path, info);
    case "list":
      return node.items.map((item) => evaluate(item, info));
    case "not": {
      const v = evaluate(node.operand, info);
      return typeof v === "boolean" ? !v : ERROR;
    }
    case "and":
    case "or": {
      const absorbing = node.kind === "or";
      const left = evaluate(node.left, info);
      if (left === absorbing) return absorbing;
      const right = evaluate(node.right, info);
      if (right === absorbing) return absorbing;
      return typeof left === "boolean" && typeof right === "boolean" ? !absorbing : ERROR;
    }
    case "compare": {
      const left = evaluate(node.left, info);
      const right = evaluate(node.right, info);
      if (node.op === "==" || node.op === "!=") {
        const eq = equal(left, right);
        return eq === ERROR ? ERROR : node.op === "==" ? eq : !eq;
      }
      const ordered =
        (typeof left === "number" && typeof right === "number") ||
        (typeof left === "string" && typeof right === "string");
      if (!ordered) return ERROR;
      const [a, b] = [left as number | string, right as number | string];
      switch (node.op) {
        case "<":
          return a < b;
        case "<=":
          return a <= b;
        case ">":
          return a > b;
        case ">=":
          return a >= b;
      }
      return ERROR;
    }
    case "in": {
      const needle = evaluate(node.left, info);
      const haystack = evaluate(node.right, info);
      if (!Array.isArray(haystack)) return ERROR;
      for (const item of haystack) if (equal(needle, item) === true) return true;
      return false;
    }
    case "call": {
      const target = evaluate(node.target, info);
      const arg = evaluate(node.args[0]!, info);
      if (typeof target !== "string" || typeof arg !== "string") return ERROR;
      if (node.method === "startsWith") return target.startsWith(arg);
      if (node.method === "endsWith") return target.endsWith(arg);
      return target.includes(arg);
    }
  }
}

/** True when the expression evaluates to true; false for false, non-booleans and errors. */
export function evaluateCel(root: CelNode, info: StreamInfo): boolean {
  return evaluate(root, info) === true;
}
