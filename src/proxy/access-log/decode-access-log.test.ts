import { describe, expect, it } from "vitest";
import { messageType } from "../../xds/envoy-protos.ts";
import { decodeJson, encodeJson } from "../../xds/proto-json.ts";
import { Fields } from "../routing/decode-reader.ts";
import { Re2Lease } from "../routing/re2-pool.ts";
import { decodeAccessLogs } from "./decode-access-log.ts";
import { evaluateFilter } from "./evaluate-filter.ts";
import { formatLog } from "./format-log.ts";
import { httpStreamInfo } from "./testing.ts";
import type { AccessLogConfig } from "./types.ts";

const FILE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";
const STDOUT = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";
const CEL = "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter";

function decode(accessLog: unknown[]): { value: AccessLogConfig[]; errors: string[] } {
  const ctx = { errors: [] as string[], regexes: new Re2Lease() };
  const f = new Fields(ctx, { access_log: accessLog }, "hcm");
  const value = decodeAccessLogs(f);
  ctx.regexes.release();
  return { value, errors: ctx.errors };
}

function ok(accessLog: unknown[]): AccessLogConfig[] {
  const { value, errors } = decode(accessLog);
  expect(errors).toEqual([]);
  return value;
}

const fileLog = (typed: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: "envoy.access_loggers.file",
  typed_config: { "@type": FILE, path: "/dev/stdout", ...typed },
  ...extra,
});

describe("decodeAccessLogs", () => {
  it("decodes Istio's file logger with an inline text format", () => {
    const [log] = ok([
      fileLog({ log_format: { text_format_source: { inline_string: "%RESPONSE_CODE%\n" } } }),
    ]);
    expect(log?.path).toBe("/dev/stdout");
    expect(formatLog(log!.format, httpStreamInfo())).toBe("200\n");
  });

  it("uses Envoy's default format when none is given, and the stdout/stderr loggers", () => {
    const [file, stdout] = ok([
      fileLog({}),
      { name: "envoy.access_loggers.stdout", typed_config: { "@type": STDOUT } },
    ]);
    expect(formatLog(file!.format, httpStreamInfo())).toMatch(
      /^\[2026-12-07T09:10:11.123Z\] "GET /,
    );
    expect(stdout?.path).toBe("/dev/stdout");
  });

  it("decodes json_format (typed), the legacy format fields and omit_empty_values", () => {
    const [typed, legacyJson, legacyText] = ok([
      fileLog({
        log_format: {
          json_format: { code: "%RESPONSE_CODE%", missing: "%REQ(X-NONE)%" },
          omit_empty_values: true,
          content_type: "application/json",
        },
      }),
      fileLog({ json_format: { code: "%RESPONSE_CODE%" } }),
      fileLog({ format: "%PROTOCOL%" }),
    ]);
    expect(formatLog(typed!.format, httpStreamInfo())).toBe('{"code":200}\n');
    expect(formatLog(legacyJson!.format, httpStreamInfo())).toBe('{"code":"200"}\n');
    expect(formatLog(legacyText!.format, httpStreamInfo())).toBe("HTTP/1.1");
  });

  it("decodes filters and evaluates them", () => {
    const [log] = ok([
      fileLog(
        {},
        {
          filter: {
            and_filter: {
              filters: [
                {
                  status_code_filter: {
                    comparison: { op: "GE", value: { default_value: 400, runtime_key: "k" } },
                  },
                },
                {
                  or_filter: {
                    filters: [
                      { response_flag_filter: { flags: ["UH", "UF"] } },
                      { header_filter: { header: { name: "X-Debug", present_match: true } } },
                    ],
                  },
                },
              ],
            },
          },
        },
      ),
    ]);
    const filter = log!.filter!;
    expect(
      evaluateFilter(filter, httpStreamInfo({ responseCode: 503, responseFlags: ["UH"] })),
    ).toBe(true);
    expect(evaluateFilter(filter, httpStreamInfo({ responseCode: 503 }))).toBe(false);
    expect(evaluateFilter(filter, httpStreamInfo({ responseFlags: ["UH"] }))).toBe(false);
    expect(
      evaluateFilter(
        filter,
        httpStreamInfo({ responseCode: 500, requestHeaders: { "x-debug": "1" } }),
      ),
    ).toBe(true);
  });

  it("decodes Istio's CEL extension filter", () => {
    const [log] = ok([
      fileLog(
        {},
        {
          filter: {
            extension_filter: {
              name: "envoy.access_loggers.extension_filters.cel",
              typed_config: { "@type": CEL, expression: "response.code >= 400" },
            },
          },
        },
      ),
    ]);
    expect(evaluateFilter(log!.filter!, httpStreamInfo({ responseCode: 404 }))).toBe(true);
    expect(evaluateFilter(log!.filter!, httpStreamInfo())).toBe(false);
  });

  it("evaluates full CEL in the extension filter, an erroring expression not logging", () => {
    const celLog = (expression: string) =>
      fileLog(
        {},
        {
          filter: { extension_filter: { name: "cel", typed_config: { "@type": CEL, expression } } },
        },
      );
    const [sized, header] = ok([
      celLog("size(request.path) > 3 && request.path.startsWith('/api/')"),
      celLog("request.headers['x-user'] == 'alice'"),
    ]);
    expect(evaluateFilter(sized!.filter!, httpStreamInfo())).toBe(true);
    expect(evaluateFilter(header!.filter!, httpStreamInfo())).toBe(false);
    const alice = httpStreamInfo({ requestHeaders: { "x-user": "alice" } });
    expect(evaluateFilter(header!.filter!, alice)).toBe(true);

    const { errors } = decode([celLog("response.code >= 400 &&")]);
    expect(errors).toEqual([
      'hcm.access_log[0].filter.extension_filter.typed_config.expression: CEL expression "response.code >= 400 &&": Unexpected token: EOF at character 24',
    ]);
  });

  it("collects every problem with its field path", () => {
    const { value, errors } = decode([
      fileLog({ log_format: { text_format_source: { inline_string: "%NOPE%" } } }),
      {
        name: "envoy.access_loggers.http_grpc",
        typed_config: {
          "@type":
            "type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig",
        },
      },
      fileLog({ path: "", log_format: { json_format: { a: "%BYTES_SENT%x%" } } }),
      fileLog({}, { filter: { runtime_filter: { runtime_key: "x" } } }),
      fileLog({}, { filter: { response_flag_filter: { flags: ["XX"] } } }),
      fileLog({}, { filter: { and_filter: { filters: [{ traceable_filter: {} }] } } }),
      fileLog(
        {},
        {
          filter: {
            extension_filter: {
              name: "cel",
              typed_config: { "@type": CEL, expression: "connection.id > 10" },
            },
          },
        },
      ),
      fileLog(
        {},
        {
          filter: { status_code_filter: { comparison: { op: "GT", value: { default_value: 1 } } } },
        },
      ),
      { name: "x" },
      fileLog({ log_format: { text_format: "%PROTOCOL%", json_format: {} } }),
      fileLog({ bogus: 1 }),
    ]);
    expect(value).toEqual([]);
    const text = errors.join("\n");
    for (const expected of [
      "hcm.access_log[0].typed_config.log_format.text_format_source.inline_string: unknown command operator %NOPE%",
      'hcm.access_log[1].typed_config: unsupported access logger "envoy.access_loggers.http_grpc"',
      "hcm.access_log[2].typed_config.path: must be at least 1 character(s)",
      "hcm.access_log[2].typed_config.log_format.json_format.a: no valid command operator at character 14",
      "hcm.access_log[3].filter.runtime_filter: runtime_filter is not supported",
      'hcm.access_log[4].filter.response_flag_filter.flags[0]: "XX" is not a response flag',
      "hcm.access_log[5].filter.and_filter.filters: at least 2 filters are required",
      'hcm.access_log[6].filter.extension_filter.typed_config.expression: CEL expression "connection.id > 10": attribute connection.id at character 12 is not supported',
      "hcm.access_log[7].filter.status_code_filter.comparison.op: expected one of EQ, GE, LE",
      "hcm.access_log[7].filter.status_code_filter.comparison.value.runtime_key: must be at least 1 character(s)",
      "hcm.access_log[8].typed_config: typed_config is required",
      "hcm.access_log[9].typed_config.log_format: only one of text_format, json_format may be set",
      "hcm.access_log[10].typed_config.bogus: unknown field",
    ]) {
      expect(text).toContain(expected);
    }
    expect(errors).toHaveLength(13);
  });

  it("reads the Any payloads the xDS decoder produces from the wire", () => {
    const type = messageType("envoy.config.accesslog.v3.AccessLog");
    const json = fileLog(
      { log_format: { json_format: { code: "%RESPONSE_CODE%", nested: { m: "%REQ(:METHOD)%" } } } },
      {
        filter: {
          extension_filter: {
            name: "envoy.access_loggers.extension_filters.cel",
            typed_config: { "@type": CEL, expression: "request.method == 'GET'" },
          },
        },
      },
    );
    const roundTripped = decodeJson(type, encodeJson(type, json));
    const [log] = ok([roundTripped]);
    expect(evaluateFilter(log!.filter!, httpStreamInfo())).toBe(true);
    expect(formatLog(log!.format, httpStreamInfo())).toBe('{"code":200,"nested":{"m":"GET"}}\n');
  });
});
