import { describe, expect, it } from "vitest";
import { translateCorsPolicy, translateFault } from "./route-fault.ts";
import type { Obj } from "./route-values.ts";

const FAULT = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";
const CORS = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy";

describe("translateFault", () => {
  const cases: Array<{ name: string; fault: Obj; expected: unknown }> = [
    {
      name: "abort with an HTTP status and percentage (per million, Istio's truncation)",
      fault: { abort: { httpStatus: 503, percentage: { value: 0.57 } } },
      expected: {
        "@type": FAULT,
        abort: { http_status: 503, percentage: { numerator: 5699, denominator: "MILLION" } },
      },
    },
    {
      name: "abort with a gRPC status; no percentage means Envoy's 0 %",
      fault: { abort: { grpcStatus: "UNAVAILABLE" } },
      expected: { "@type": FAULT, abort: { grpc_status: 14 } },
    },
    {
      name: "fixed delay with percentage",
      fault: { delay: { fixedDelay: "1.5s", percentage: { value: 100 } } },
      expected: {
        "@type": FAULT,
        delay: { fixed_delay: "1.5s", percentage: { numerator: 1000000, denominator: "MILLION" } },
      },
    },
    {
      name: "delay with the deprecated integer percent; absent percent is 0",
      fault: { delay: { fixedDelay: "2s", percent: 30 }, abort: { httpStatus: 400 } },
      expected: {
        "@type": FAULT,
        delay: { fixed_delay: "2s", percentage: { numerator: 30, denominator: "HUNDRED" } },
        abort: { http_status: 400 },
      },
    },
    {
      name: "delay without percentage: 0 of a hundred",
      fault: { delay: { fixedDelay: "100ms" } },
      expected: {
        "@type": FAULT,
        delay: { fixed_delay: "0.1s", percentage: { numerator: 0, denominator: "HUNDRED" } },
      },
    },
    {
      name: "exponential delays are not supported (dropped)",
      fault: { delay: { exponentialDelay: "1s" } },
      expected: undefined,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(translateFault(c.fault)).toEqual(c.expected);
    });
  }
});

describe("translateCorsPolicy", () => {
  it("writes origins, methods, headers, max age, credentials; enabled for all requests", () => {
    expect(
      translateCorsPolicy({
        allowOrigins: [{ exact: "https://shop.example" }, { regex: "https://.*\\.example" }],
        allowMethods: ["GET", "POST"],
        allowHeaders: ["x-a", "x-b"],
        exposeHeaders: ["x-c"],
        maxAge: "24h",
        allowCredentials: true,
      }),
    ).toEqual({
      "@type": CORS,
      allow_origin_string_match: [
        { exact: "https://shop.example" },
        { safe_regex: { regex: "https://.*\\.example" } },
      ],
      allow_methods: "GET,POST",
      allow_headers: "x-a,x-b",
      expose_headers: "x-c",
      max_age: "86400",
      allow_credentials: true,
      filter_enabled: { default_value: { numerator: 100, denominator: "HUNDRED" } },
      forward_not_matching_preflights: true,
    });
  });

  it("deprecated allowOrigin → exact matches; unmatchedPreflights IGNORE", () => {
    expect(
      translateCorsPolicy({ allowOrigin: ["https://a.example"], unmatchedPreflights: "IGNORE" }),
    ).toEqual({
      "@type": CORS,
      allow_origin_string_match: [{ exact: "https://a.example" }],
      filter_enabled: { default_value: { numerator: 100, denominator: "HUNDRED" } },
      forward_not_matching_preflights: false,
    });
  });
});
