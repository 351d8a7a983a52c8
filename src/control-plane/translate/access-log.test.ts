import { describe, expect, it } from "vitest";
import { validateMeshAccessLog } from "../model/mesh-access-log.ts";
import { DEFAULT_MESH_CONFIG, type MeshConfig } from "../model/mesh-config.ts";
import { accessLogsFor, ISTIO_JSON_LOG_FORMAT, ISTIO_TEXT_LOG_FORMAT } from "./access-log.ts";
import { proxyNode } from "./clusters-testing.ts";

const FILE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";
const mesh = (over: Partial<MeshConfig>): MeshConfig => ({ ...DEFAULT_MESH_CONFIG, ...over });
const meshAccessLogs = (meshConfig: MeshConfig) =>
  accessLogsFor({ meshConfig, proxy: proxyNode() }, "CLIENT");

describe("meshConfig access logging", () => {
  it("is off without accessLogFile", () => {
    expect(meshAccessLogs(DEFAULT_MESH_CONFIG)).toEqual([]);
  });

  it("writes Istio's TEXT format by default", () => {
    expect(meshAccessLogs(mesh({ accessLogFile: "/dev/stdout" }))).toEqual([
      {
        name: "envoy.access_loggers.file",
        typed_config: {
          "@type": FILE,
          path: "/dev/stdout",
          log_format: { text_format_source: { inline_string: ISTIO_TEXT_LOG_FORMAT } },
        },
      },
    ]);
    expect(ISTIO_TEXT_LOG_FORMAT.endsWith("%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n")).toBe(true);
  });

  it("ends a custom TEXT format with a newline, as Istio does", () => {
    const [log] = meshAccessLogs(
      mesh({ accessLogFile: "/dev/stdout", accessLogFormat: "%DURATION%" }),
    );
    expect(log).toMatchObject({
      typed_config: { log_format: { text_format_source: { inline_string: "%DURATION%\n" } } },
    });
  });

  it("writes Istio's JSON format, or the custom JSON object", () => {
    const [json] = meshAccessLogs(
      mesh({ accessLogFile: "/dev/stderr", accessLogEncoding: "JSON" }),
    );
    expect(json).toMatchObject({
      typed_config: { log_format: { json_format: ISTIO_JSON_LOG_FORMAT } },
    });
    expect(Object.keys(ISTIO_JSON_LOG_FORMAT)).toHaveLength(24);
    const [custom] = meshAccessLogs(
      mesh({
        accessLogFile: "/dev/stderr",
        accessLogEncoding: "JSON",
        accessLogFormat: '{"code":"%RESPONSE_CODE%"}',
      }),
    );
    expect(custom).toMatchObject({
      typed_config: { log_format: { json_format: { code: "%RESPONSE_CODE%" } } },
    });
    // An unparsable custom format falls back to Istio's default (validation reports it earlier).
    const [fallback] = meshAccessLogs(
      mesh({ accessLogFile: "/dev/stderr", accessLogEncoding: "JSON", accessLogFormat: "[" }),
    );
    expect(fallback).toMatchObject({
      typed_config: { log_format: { json_format: ISTIO_JSON_LOG_FORMAT } },
    });
  });

  it("validates the encoding and a JSON format with field paths", () => {
    expect(validateMeshAccessLog({ accessLogFile: "/dev/stdout" })).toEqual([]);
    expect(
      validateMeshAccessLog({ accessLogEncoding: "XML" as MeshConfig["accessLogEncoding"] }),
    ).toEqual(['meshConfig.accessLogEncoding: "XML" is not TEXT or JSON']);
    const [error] = validateMeshAccessLog({
      accessLogEncoding: "JSON",
      accessLogFormat: "%DURATION%",
    });
    expect(error).toContain(
      "meshConfig.accessLogFormat: with accessLogEncoding JSON the format must be a JSON object",
    );
    expect(
      validateMeshAccessLog({ accessLogEncoding: "JSON", accessLogFormat: "[1]" })[0],
    ).toContain("not a JSON object");
  });
});
