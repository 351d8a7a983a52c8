// Envoy's request header mutation before routing: XFF, x-forwarded-proto, internal requests and the
// edge's cleaning of x-envoy-* headers, x-request-id, via.
import { describe, expect, it } from "vitest";
import type { HcmConfig } from "../listener/types.ts";
import type { MutableHeaders } from "../routing/types.ts";
import { isInternalAddress, mutateRequestHeaders } from "./mutate-request-headers.ts";

function config(overrides: Partial<HcmConfig> = {}): HcmConfig {
  return {
    useRemoteAddress: false,
    xffNumTrustedHops: 0,
    skipXffAppend: false,
    via: "",
    generateRequestId: true,
    preserveExternalRequestId: false,
    forwardClientCertDetails: "SANITIZE",
    ...overrides,
  } as HcmConfig;
}

function mutate(overrides: Partial<HcmConfig>, headers: MutableHeaders, remoteIp = "10.1.2.3") {
  const result = mutateRequestHeaders(config(overrides), {
    headers,
    remoteIp,
    scheme: "http",
    protocol: "1.1",
  });
  return { ...result, headers };
}

describe("mutateRequestHeaders", () => {
  it("at the edge appends the peer to XFF, sets x-forwarded-proto and marks an internal peer", () => {
    const { headers, internal, clientIp } = mutate({ useRemoteAddress: true }, {});
    expect(headers["x-forwarded-for"]).toBe("10.1.2.3");
    expect(headers["x-forwarded-proto"]).toBe("http");
    expect(headers["x-envoy-internal"]).toBe("true");
    expect({ internal, clientIp }).toEqual({ internal: true, clientIp: "10.1.2.3" });
  });

  it("at the edge treats a request that already carries XFF as external and cleans x-envoy-*", () => {
    const { headers, internal } = mutate(
      { useRemoteAddress: true },
      { "x-forwarded-for": "10.9.9.9", "x-envoy-retry-on": "5xx", "x-request-id": "abc" },
    );
    expect(internal).toBe(false);
    expect(headers["x-forwarded-for"]).toBe("10.9.9.9,10.1.2.3");
    expect(headers["x-envoy-retry-on"]).toBeUndefined();
    expect(headers["x-envoy-internal"]).toBeUndefined();
    expect(headers["x-envoy-external-address"]).toBe("10.1.2.3");
    // An external request's id is not trusted unless preserve_external_request_id is set.
    expect(headers["x-request-id"]).not.toBe("abc");
    expect(
      mutate(
        { useRemoteAddress: true, preserveExternalRequestId: true },
        { "x-forwarded-for": "1.1.1.1", "x-request-id": "abc" },
      ).headers["x-request-id"],
    ).toBe("abc");
  });

  it("takes the client from XFF with xff_num_trusted_hops", () => {
    const { clientIp, headers } = mutate(
      { useRemoteAddress: true, xffNumTrustedHops: 1 },
      { "x-forwarded-for": "203.0.113.7" },
      "10.0.0.1",
    );
    expect(clientIp).toBe("203.0.113.7");
    expect(headers["x-envoy-external-address"]).toBe("203.0.113.7");
  });

  it("behind another proxy trusts XFF and keeps x-envoy-* headers", () => {
    const one = mutate({}, { "x-forwarded-for": "10.7.7.7", "x-envoy-retry-on": "5xx" });
    expect(one.internal).toBe(true);
    expect(one.clientIp).toBe("10.7.7.7");
    expect(one.headers["x-forwarded-for"]).toBe("10.7.7.7");
    expect(one.headers["x-envoy-retry-on"]).toBe("5xx");
    expect(mutate({}, { "x-forwarded-for": "10.7.7.7, 10.8.8.8" }).internal).toBe(false);
    expect(mutate({}, {}).internal).toBe(false);
    expect(mutate({}, {}).headers["x-forwarded-proto"]).toBe("http");
    expect(mutate({}, { "x-forwarded-proto": "https" }).headers["x-forwarded-proto"]).toBe("https");
  });

  it("generates x-request-id when absent and keeps an internal one", () => {
    expect(mutate({}, {}).headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(mutate({}, { "x-request-id": "keep-me" }).headers["x-request-id"]).toBe("keep-me");
    expect(mutate({ generateRequestId: false }, {}).headers["x-request-id"]).toBeUndefined();
  });

  it("appends via and sanitizes x-forwarded-client-cert", () => {
    const { headers } = mutate(
      { via: "crema" },
      { via: "1.1 lb", "x-forwarded-client-cert": "By=x" },
    );
    expect(headers.via).toBe("1.1 lb, crema");
    expect(headers["x-forwarded-client-cert"]).toBeUndefined();
  });
});

describe("isInternalAddress", () => {
  it("is RFC 1918, loopback and IPv6 unique-local", () => {
    for (const ip of [
      "10.0.0.1",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "127.0.0.1",
      "::1",
      "fd00::1",
      "::ffff:10.0.0.1",
    ])
      expect(isInternalAddress(ip), ip).toBe(true);
    for (const ip of ["172.32.0.1", "8.8.8.8", "2001:db8::1", "not-an-ip"])
      expect(isInternalAddress(ip), ip).toBe(false);
  });
});
