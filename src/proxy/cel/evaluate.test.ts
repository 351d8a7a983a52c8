import { describe, expect, it } from "vitest";
import { httpStreamInfo, tcpStreamInfo } from "../access-log/testing.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import { type CelProgram, compileCelExpression } from "./compile.ts";
import { celMatches, celString } from "./evaluate.ts";

function program(expression: string): CelProgram {
  const compiled = compileCelExpression(expression);
  if (!compiled.ok) throw new Error(compiled.error);
  return compiled.program;
}

function matches(expression: string, info = httpStreamInfo()): boolean {
  return celMatches(program(expression), info);
}

function text(expression: string, info = httpStreamInfo()): string | undefined {
  return celString(program(expression), info);
}

function withRequestHeaders(headers: StreamInfo["requestHeaders"]): StreamInfo {
  const info = httpStreamInfo();
  return httpStreamInfo({ requestHeaders: { ...info.requestHeaders, ...headers } });
}

describe("celMatches", () => {
  it("evaluates the expressions Istio's docs use", () => {
    expect(matches("response.code >= 400")).toBe(false);
    expect(matches("response.code >= 400", httpStreamInfo({ responseCode: 503 }))).toBe(true);
    expect(matches("response.code == 200")).toBe(true);
    expect(matches('request.method == "GET"')).toBe(true);
    expect(matches("request.url_path.startsWith('/api')")).toBe(true);
    expect(matches("request.url_path.endsWith('items')")).toBe(true);
    expect(matches("request.path.contains('page=2')")).toBe(true);
    expect(matches("connection.mtls")).toBe(false);
    expect(
      matches("connection.mtls", httpStreamInfo({ downstreamPeerUriSan: "spiffe://x" } as never)),
    ).toBe(true);
  });

  it("combines with !, &&, ||, parentheses, !=, in and the ternary operator", () => {
    expect(matches("!(response.code == 200) || request.method != 'GET'")).toBe(false);
    expect(matches("response.code == 200 && (request.host == 'shop.example.com' || false)")).toBe(
      true,
    );
    expect(matches("request.method in ['GET', 'HEAD']")).toBe(true);
    expect(matches("response.code in [500, 503]")).toBe(false);
    expect(matches("request.headers['user-agent'].startsWith('curl')")).toBe(true);
    expect(matches("response.code > -1 && response.code < 300 && response.code <= 200")).toBe(true);
    expect(matches("response.code >= 400 || response.code == 0")).toBe(false);
    expect(matches("response.code >= 400 || response.code == 0", tcpStreamInfo())).toBe(true);
    expect(matches("response.code >= 500 ? false : request.method == 'GET'")).toBe(true);
  });

  it("has the functions and macros of full CEL", () => {
    expect(matches("size(request.path) > 3")).toBe(true);
    expect(matches("size(request.url_path) == 13")).toBe(true);
    expect(matches("has(request.headers.foo)")).toBe(false);
    expect(matches("has(request.headers.foo)", withRequestHeaders({ foo: "1" }))).toBe(true);
    expect(matches("'x-foo' in request.headers")).toBe(false);
    expect(matches("'x-foo' in request.headers", withRequestHeaders({ "x-foo": "" }))).toBe(true);
    expect(
      matches("int(request.headers['x-retries']) > 2", withRequestHeaders({ "x-retries": "3" })),
    ).toBe(true);
    expect(matches("response.code / 100 == 2")).toBe(true);
    expect(
      matches("request.duration < duration('13ms') && request.duration > duration('12ms')"),
    ).toBe(true);
    expect(matches("request.time == timestamp('2026-12-07T09:10:11.123Z')")).toBe(true);
  });

  it("reads the attributes a stream carries", () => {
    const info = httpStreamInfo({
      responseFlags: ["UH", "URX"],
      responseTrailers: { "grpc-status": "14" },
      wireBytesReceived: 300,
      wireBytesSent: 700,
      upstreamTransportFailureReason: "tls handshake",
      upstreamPeerUriSan: "spiffe://cluster.local/ns/shop/sa/items",
      upstreamLocalUriSan: "spiffe://cluster.local/ns/shop/sa/web",
    });
    for (const expression of [
      "request.scheme == 'http' && request.protocol == 'HTTP/1.1' && request.id == '4f1c'",
      "request.useragent == 'curl/8.0' && request.size == 0 && request.total_size == 300",
      "response.code_details == 'via_upstream' && response.size == 512 && response.total_size == 700",
      // UH is Envoy's response flag bit 1, URX bit 15.
      "response.flags == 2 + 32768",
      "response.grpc_status == 14 && response.trailers['grpc-status'] == '14'",
      "response.headers[':status'] == '200'",
      "source.address == '10.0.0.1:51234' && source.port == 51234",
      "destination.address == '10.0.0.2:8080' && destination.port == 8080",
      "upstream.address == '10.0.1.5:80' && upstream.port == 80",
      "upstream.local_address == '10.0.0.2:40000'",
      "upstream.transport_failure_reason == 'tls handshake'",
      "upstream.uri_san_peer_certificate == 'spiffe://cluster.local/ns/shop/sa/items'",
      "upstream.uri_san_local_certificate == 'spiffe://cluster.local/ns/shop/sa/web'",
      "xds.cluster_name == 'outbound|80||items.shop.svc.cluster.local'",
      "xds.route_name == 'default' && connection.requested_server_name == ''",
    ]) {
      expect(celMatches(program(expression), info), expression).toBe(true);
    }
  });

  it("joins repeated headers and finds them by their lower-case name", () => {
    const info = withRequestHeaders({ "x-multi": ["a", "b"], "X-Upper": "v" });
    expect(matches("request.headers['x-multi'] == 'a,b'", info)).toBe(true);
    expect(matches("request.headers['x-upper'] == 'v'", info)).toBe(true);
  });

  it("sees only the headers themselves, whatever object holds them", () => {
    const http2Headers = Object.assign(Object.create(null) as Record<string, string>, {
      ":method": "GET",
      "x-foo": "1",
    });
    for (const info of [httpStreamInfo(), httpStreamInfo({ requestHeaders: http2Headers })]) {
      expect(matches("'constructor' in request.headers", info)).toBe(false);
      expect(matches("'__proto__' in request.headers", info)).toBe(false);
      expect(text("request.headers['toString']", info)).toBeUndefined();
      expect(matches("has(request.headers.hasOwnProperty)", info)).toBe(false);
    }
    expect(matches("size(request.headers) == 7")).toBe(true);
    expect(text("request.headers['x-foo']", httpStreamInfo({ requestHeaders: http2Headers }))).toBe(
      "1",
    );
  });

  it("treats errors as false, absorbed by && and || as CEL does", () => {
    const tcp = tcpStreamInfo();
    expect(matches("request.method == 'GET'", tcp)).toBe(false);
    expect(matches("!(request.method == 'GET')", tcp)).toBe(false);
    expect(matches("request.method == 'GET' || response.code == 0", tcp)).toBe(true);
    expect(matches("request.method == 'GET' && response.code == 0", tcp)).toBe(false);
    expect(matches("response.code == '200'")).toBe(false);
    expect(matches("request.headers['x-user'] == 'alice'")).toBe(false);
    expect(matches("!(request.headers['x-user'] == 'alice')")).toBe(false);
    expect(matches("response.code / 0 == 1")).toBe(false);
    expect(matches("response.code_details == 'x'", tcp)).toBe(false);
  });

  it("reads only the attributes the expression names", () => {
    const info = httpStreamInfo({ responseCode: 503 });
    Object.defineProperty(info, "requestHeaders", {
      get: () => {
        throw new Error("request headers read");
      },
    });
    expect(matches("response.code >= 400", info)).toBe(true);
  });

  it("leaves the stack trace limit as it was, errors or not", () => {
    const limit = Error.stackTraceLimit;
    expect(matches("request.headers['x-user'] == 'alice'")).toBe(false);
    expect(matches("response.code == 200")).toBe(true);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it("is false for values that are not booleans", () => {
    expect(matches("request.path")).toBe(false);
    expect(matches("response.code")).toBe(false);
    expect(matches("request.headers")).toBe(false);
  });
});

describe("celString", () => {
  it("renders the values Istio's tag overrides produce", () => {
    expect(text("request.host")).toBe("shop.example.com");
    expect(text("string(destination.port)")).toBe("8080");
    expect(text("destination.port")).toBe("8080");
    expect(text("request.headers['x-user']", withRequestHeaders({ "x-user": "alice" }))).toBe(
      "alice",
    );
    expect(text("connection.mtls")).toBe("false");
    expect(text("response.code >= 400 ? 'error' : 'ok'")).toBe("ok");
    expect(text("1.0 / 3.0")).toBe("0.333333");
    expect(text("uint(response.code)")).toBe("200");
    expect(text("b'bytes'")).toBe("bytes");
  });

  it("is undefined for errors, null and values without a label form", () => {
    expect(text("request.headers['x-user']")).toBeUndefined();
    expect(text("request.method", tcpStreamInfo())).toBeUndefined();
    expect(text("int(request.path)")).toBeUndefined();
    expect(text("null")).toBeUndefined();
    expect(text("[request.host]")).toBeUndefined();
    expect(text("request.headers")).toBeUndefined();
  });
});
