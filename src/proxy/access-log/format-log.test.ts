import { describe, expect, it } from "vitest";
import { formatLog } from "./format-log.ts";
import { ENVOY_DEFAULT_FORMAT, parseFormatString } from "./format-string.ts";
import { formatStartTime } from "./start-time.ts";
import { httpStreamInfo, START, tcpStreamInfo } from "./testing.ts";
import type { FormatPart, JsonFormatNode, LogFormat } from "./types.ts";

function parts(format: string): FormatPart[] {
  const parsed = parseFormatString(format);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.parts;
}

function text(format: string, omitEmptyValues = false): LogFormat {
  return { kind: "text", parts: parts(format), omitEmptyValues };
}

function json(
  shape: Record<string, unknown>,
  options: { typed?: boolean; omitEmptyValues?: boolean } = {},
): LogFormat {
  const node = (value: unknown): JsonFormatNode =>
    typeof value === "string"
      ? { kind: "format", parts: parts(value) }
      : {
          kind: "object",
          entries: Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, node(v)]),
        };
  return {
    kind: "json",
    root: node(shape),
    typed: options.typed ?? true,
    omitEmptyValues: options.omitEmptyValues ?? false,
  };
}

describe("format strings", () => {
  it("render Envoy's default format for an HTTP stream", () => {
    expect(formatLog(text(ENVOY_DEFAULT_FORMAT), httpStreamInfo())).toBe(
      '[2026-12-07T09:10:11.123Z] "GET /api/v1/items?page=2 HTTP/1.1" 200 - 0 512 12 9 ' +
        '"192.0.2.1" "curl/8.0" "4f1c" "shop.example.com" "10.0.1.5:80"\n',
    );
  });

  it("print - for unset values, and 0 and - for a TCP connection's HTTP fields", () => {
    expect(
      formatLog(
        text(
          "%REQ(:METHOD)% %PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS% %ROUTE_NAME% %BYTES_SENT%",
        ),
        tcpStreamInfo(),
      ),
    ).toBe("- - 0 - - 2000");
  });

  it("omit_empty_values prints unset values as empty strings", () => {
    expect(formatLog(text("[%REQ(X-MISSING)%]", true), httpStreamInfo())).toBe("[]");
  });

  it("take the alternative header, truncate to Z, and match names case-insensitively", () => {
    const info = httpStreamInfo();
    expect(formatLog(text("%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"), info)).toBe(
      "/api/v1/items?page=2",
    );
    expect(
      formatLog(
        text("%REQ(:path):7%|%REQ(User-Agent)%|%RESP(X-Envoy-Upstream-Service-Time)%"),
        info,
      ),
    ).toBe("/api/v1|curl/8.0|9");
    expect(formatLog(text("%REQUEST_HEADER(x-request-id)%"), info)).toBe("4f1c");
    info.responseTrailers = { "grpc-status": "14" };
    expect(formatLog(text("%TRAILER(grpc-status)% %GRPC_STATUS%"), info)).toBe("14 -");
    info.requestHeaders = { ...info.requestHeaders, "content-type": "application/grpc" };
    expect(
      formatLog(text("%GRPC_STATUS% %GRPC_STATUS(SNAKE_STRING)% %GRPC_STATUS_NUMBER%"), info),
    ).toBe("Unavailable UNAVAILABLE 14");
  });

  it("use the first value of a repeated header", () => {
    const info = httpStreamInfo({ requestHeaders: { "x-forwarded-for": ["1.1.1.1", "2.2.2.2"] } });
    expect(formatLog(text("%REQ(X-FORWARDED-FOR)%"), info)).toBe("1.1.1.1");
  });

  it("render addresses, flags, details and identities", () => {
    const info = httpStreamInfo({
      responseFlags: ["URX", "UH"],
      connectionTerminationDetails: "idle_timeout",
      upstreamTransportFailureReason: "TLS_error",
      requestedServerName: "shop.example.com",
      downstreamPeerUriSan: "spiffe://cluster.local/ns/shop/sa/web",
      downstreamLocalUriSan: "spiffe://cluster.local/ns/shop/sa/items",
      upstreamPeerUriSan: "spiffe://cluster.local/ns/shop/sa/db",
      upstreamLocalUriSan: "spiffe://cluster.local/ns/shop/sa/items",
    });
    const line = formatLog(
      text(
        [
          "%RESPONSE_FLAGS%",
          "%RESPONSE_FLAGS_LONG%",
          "%RESPONSE_CODE_DETAILS%",
          "%CONNECTION_TERMINATION_DETAILS%",
          "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
          "%UPSTREAM_CLUSTER%",
          "%UPSTREAM_CLUSTER_RAW%",
          "%UPSTREAM_LOCAL_ADDRESS%",
          "%DOWNSTREAM_LOCAL_ADDRESS%",
          "%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%",
          "%DOWNSTREAM_REMOTE_ADDRESS%",
          "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
          "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%",
          "%REQUESTED_SERVER_NAME%",
          "%ROUTE_NAME%",
          "%DOWNSTREAM_PEER_URI_SAN%",
          "%DOWNSTREAM_LOCAL_URI_SAN%",
          "%UPSTREAM_PEER_URI_SAN%",
          "%UPSTREAM_LOCAL_URI_SAN%",
          "100%%",
        ].join(" "),
      ),
      info,
    );
    expect(line.split(" ")).toEqual([
      "UH,URX",
      "NoHealthyUpstream,UpstreamRetryLimitExceeded",
      "via_upstream",
      "idle_timeout",
      "TLS_error",
      "outbound|80||items.shop.svc.cluster.local",
      "outbound|80||items.shop.svc.cluster.local",
      "10.0.0.2:40000",
      "10.0.0.2:8080",
      "10.0.0.2",
      "10.0.0.1:51234",
      "10.0.0.1",
      "10.0.0.9:51234",
      "shop.example.com",
      "default",
      "spiffe://cluster.local/ns/shop/sa/web",
      "spiffe://cluster.local/ns/shop/sa/items",
      "spiffe://cluster.local/ns/shop/sa/db",
      "spiffe://cluster.local/ns/shop/sa/items",
      "100%",
    ]);
  });

  it("print the trace id of a traced stream, and - for one that is not", () => {
    const traced = httpStreamInfo({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736" });
    expect(formatLog(text("%TRACE_ID%"), traced)).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(formatLog(text("%TRACE_ID%"), httpStreamInfo())).toBe("-");
  });

  it("strip the port of IPv6 addresses without their brackets", () => {
    const info = httpStreamInfo({ downstreamRemoteAddress: "[2001:db8::1]:443" });
    expect(
      formatLog(text("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_PORT%"), info),
    ).toBe("2001:db8::1 443");
  });

  it("reject unknown operators and stray percent signs, as Envoy does", () => {
    expect(parseFormatString("%UPSTREAM_SERVICE_TIME%")).toMatchObject({
      ok: false,
      error: expect.stringContaining("unknown command operator %UPSTREAM_SERVICE_TIME%"),
    });
    expect(parseFormatString("50% off")).toMatchObject({
      ok: false,
      error: expect.stringContaining("character 3"),
    });
    expect(parseFormatString("%REQ%")).toMatchObject({ ok: false });
    expect(parseFormatString("%REQ(A?B?C)%")).toMatchObject({ ok: false });
    expect(parseFormatString("%PROTOCOL(x)%")).toMatchObject({ ok: false });
    expect(parseFormatString("%GRPC_STATUS(LOUD)%")).toMatchObject({ ok: false });
  });
});

describe("%START_TIME%", () => {
  it("defaults to ISO 8601 with milliseconds in UTC", () => {
    expect(formatStartTime(START, undefined)).toBe("2026-12-07T09:10:11.123Z");
  });

  it("takes strftime specifiers and Envoy's %s and %f", () => {
    expect(formatStartTime(START, "%Y/%m/%dT%H:%M:%S%z %s")).toBe(
      "2026/12/07T09:10:11+0000 1796634611",
    );
    expect(formatStartTime(START, "%s.%3f|%6f|%9f|%f|%E3S")).toBe(
      "1796634611.123|123000|123000000|123000000|11.123",
    );
    expect(formatStartTime(START, "%a %b %e %j %%")).toBe("Mon Dec  7 341 %");
    expect(formatLog(text("%START_TIME(%Y-%m-%d)%"), httpStreamInfo())).toBe("2026-12-07");
  });
});

describe("JSON formats", () => {
  const shape = {
    start_time: "%START_TIME%",
    code: "%RESPONSE_CODE%",
    duration: "%DURATION%",
    method: "%REQ(:METHOD)%",
    missing: "%REQ(X-MISSING)%",
    mixed: "%RESPONSE_CODE% via %UPSTREAM_HOST% %REQ(X-MISSING)%",
    nested: { cluster: "%UPSTREAM_CLUSTER_RAW%", flags: "%RESPONSE_FLAGS%" },
  };

  it("give numbers for numeric operators and null for unset ones (typed)", () => {
    const line = formatLog(json(shape), httpStreamInfo());
    expect(line.endsWith("\n")).toBe(true);
    expect(JSON.parse(line)).toEqual({
      start_time: "2026-12-07T09:10:11.123Z",
      code: 200,
      duration: 12,
      method: "GET",
      missing: null,
      mixed: "200 via 10.0.1.5:80 -",
      nested: { cluster: "outbound|80||items.shop.svc.cluster.local", flags: "-" },
    });
  });

  it("omit unset values with omit_empty_values", () => {
    const parsed = JSON.parse(formatLog(json(shape, { omitEmptyValues: true }), httpStreamInfo()));
    expect(parsed).not.toHaveProperty("missing");
    expect(parsed.code).toBe(200);
  });

  it("render every value as a string for the legacy json_format", () => {
    const parsed = JSON.parse(formatLog(json(shape, { typed: false }), httpStreamInfo()));
    expect(parsed.code).toBe("200");
    expect(parsed.missing).toBe("-");
  });
});
