// Local replies: Envoy's bodies and headers, gRPC trailers-only mapping and encoding, reset bodies, response-flag formatting.
import { describe, expect, it } from "vitest";
import { httpToGrpcStatus } from "./grpc-status.ts";
import {
  isGrpcContentType,
  LOCAL_REPLY_BODY,
  localReply,
  percentEncodeGrpcMessage,
  upstreamResetBody,
  upstreamResetReply,
} from "./local-reply.ts";
import { formatResponseFlags, longFlagName, RESPONSE_FLAGS } from "./response-flags.ts";

describe("localReply", () => {
  it("sends Envoy's text/plain body for plain HTTP", () => {
    const reply = localReply({
      status: 503,
      flag: "UH",
      body: LOCAL_REPLY_BODY.noHealthyUpstream,
      grpc: false,
    });
    expect(reply).toEqual({
      status: 503,
      flag: "UH",
      headers: { "content-type": "text/plain", "content-length": "19" },
      body: "no healthy upstream",
    });
  });

  it("sends no content headers for an empty body (404 NR)", () => {
    expect(localReply({ status: 404, flag: "NR", grpc: false })).toEqual({
      status: 404,
      flag: "NR",
      headers: {},
      body: "",
    });
  });

  it("keeps extra headers and answers HEAD without a body", () => {
    const reply = localReply({
      status: 403,
      body: LOCAL_REPLY_BODY.rbacDenied,
      grpc: false,
      headRequest: true,
      headers: { "x-extra": "1" },
    });
    expect(reply.body).toBe("");
    expect(reply.headers).toEqual({
      "x-extra": "1",
      "content-type": "text/plain",
      "content-length": "19",
    });
  });

  it("answers gRPC requests trailers-only with HTTP 200", () => {
    const reply = localReply({ status: 504, body: "upstream request timeout", grpc: true });
    expect(reply).toEqual({
      status: 200,
      headers: {
        "content-type": "application/grpc",
        "grpc-status": "14",
        "grpc-message": "upstream request timeout",
      },
      body: "",
    });
    expect(reply.trailers).toBeUndefined();
  });

  it("lets a configured gRPC status win over the mapped one", () => {
    const reply = localReply({
      status: 200,
      body: "fault filter abort",
      grpc: true,
      grpcStatus: 8,
    });
    expect(reply.headers["grpc-status"]).toBe("8");
  });

  it.each([
    [400, 13],
    [401, 16],
    [403, 7],
    [404, 12],
    [429, 14],
    [502, 14],
    [503, 14],
    [504, 14],
    [500, 2],
    [408, 2],
    [200, 2],
  ])("maps HTTP %i to gRPC %i", (http, grpc) => {
    expect(httpToGrpcStatus(http)).toBe(grpc);
  });

  it("percent-encodes grpc-message as Envoy does", () => {
    expect(percentEncodeGrpcMessage("RBAC: access denied")).toBe("RBAC: access denied");
    expect(percentEncodeGrpcMessage("50% off\n")).toBe("50%25 off%0A");
    expect(percentEncodeGrpcMessage("a~b")).toBe("a%7Eb");
    expect(percentEncodeGrpcMessage("é")).toBe("%C3%A9");
  });

  it.each([
    ["application/grpc", true],
    ["application/grpc+proto", true],
    ["application/grpc;charset=utf-8", true],
    ["Application/GRPC", true],
    ["application/grpc-web", false],
    ["application/grpcx", false],
    ["application/json", false],
    [undefined, false],
  ])("content-type %s is gRPC: %s", (contentType, expected) => {
    expect(isGrpcContentType(contentType)).toBe(expected);
  });
});

describe("upstream reset replies", () => {
  it("uses the router's body and flag", () => {
    expect(upstreamResetBody("remote_connection_failure")).toBe(
      "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
    );
    expect(
      upstreamResetBody("remote_connection_failure", {
        retried: true,
        transportFailureReason: "delayed connect error: 111",
      }),
    ).toBe(
      "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: 111",
    );
    const reply = upstreamResetReply("connection_termination", { grpc: false });
    expect(reply.status).toBe(503);
    expect(reply.flag).toBe("UC");
    expect(reply.details).toBe("upstream_reset_before_response_started{connection_termination}");
    expect(upstreamResetReply("overflow", { grpc: false }).flag).toBe("UO");
    expect(upstreamResetReply("local_reset", { grpc: false }).flag).toBe("LR");
    expect(upstreamResetReply("remote_reset", { grpc: false }).flag).toBe("UR");
    expect(upstreamResetReply("connection_timeout", { grpc: false }).flag).toBe("UF");
  });

  it("marks a circuit-breaker overflow with x-envoy-overloaded, and only that", () => {
    expect(upstreamResetReply("overflow", { grpc: false }).headers["x-envoy-overloaded"]).toBe(
      "true",
    );
    expect(
      upstreamResetReply("connection_termination", { grpc: false }).headers["x-envoy-overloaded"],
    ).toBeUndefined();
  });
});

describe("response flags", () => {
  it("prints '-' when there are none", () => {
    expect(formatResponseFlags([])).toBe("-");
  });

  it("joins flags with ',' in Envoy's order, whatever order they were set in", () => {
    expect(formatResponseFlags(["URX", "UF"])).toBe("UF,URX");
    expect(formatResponseFlags(["FI", "DI", "DI"])).toBe("DI,FI");
    expect(formatResponseFlags(["NC", "UH"], true)).toBe("NoHealthyUpstream,NoClusterFound");
  });

  it("knows every short name", () => {
    expect(RESPONSE_FLAGS).toContain("UAEX");
    expect(RESPONSE_FLAGS).toContain("DPE");
    expect(longFlagName("SI")).toBe("StreamIdleTimeout");
  });
});
