// decodeMeshConfig: external authorizers (envoyExtAuthzHttp/Grpc) and telemetry providers, the fields
// Istio defines, with each problem named by file position and field path.
import { describe, expect, it } from "vitest";
import { parseDocuments } from "../../config/yaml-documents.ts";
import { DEFAULT_MESH_CONFIG, decodeMeshConfig, findExtensionProvider } from "./mesh-config.ts";

function decodeYaml(text: string) {
  const parsed = parseDocuments({ path: "mesh.yaml", text });
  const document = parsed.documents[0];
  if (!document) throw new Error(JSON.stringify(parsed.diagnostics));
  return decodeMeshConfig(document);
}

describe("decodeMeshConfig: external authorizers", () => {
  it("reads envoyExtAuthzHttp and envoyExtAuthzGrpc", () => {
    const decoded = decodeYaml(`extensionProviders:
- name: http
  envoyExtAuthzHttp:
    service: foo/ext-authz.foo.svc.cluster.local
    port: "8000"
    timeout: 0.5s
    pathPrefix: /check
    failOpen: true
    statusOnError: "503"
    includeHeadersInCheck: [x-ext-authz]
    includeAdditionalHeadersInCheck: {x-added: yes}
    headersToUpstreamOnAllow: ["x-ext-authz-*"]
    headersToDownstreamOnDeny: [content-type]
    headersToDownstreamOnAllow: [set-cookie]
- name: grpc
  envoyExtAuthzGrpc: {service: ext-authz.foo.svc.cluster.local, port: 9000, timeout: 2s}
`);
    expect(decoded.errors).toEqual([]);
    expect(decoded.meshConfig.extensionProviders).toEqual([
      {
        name: "http",
        envoyExtAuthzHttp: {
          service: "foo/ext-authz.foo.svc.cluster.local",
          port: 8000,
          timeoutMs: 500,
          pathPrefix: "/check",
          failOpen: true,
          statusOnError: 503,
          includeRequestHeadersInCheck: ["x-ext-authz"],
          includeAdditionalHeadersInCheck: { "x-added": "yes" },
          headersToUpstreamOnAllow: ["x-ext-authz-*"],
          headersToDownstreamOnDeny: ["content-type"],
          headersToDownstreamOnAllow: ["set-cookie"],
        },
      },
      {
        name: "grpc",
        envoyExtAuthzGrpc: {
          service: "ext-authz.foo.svc.cluster.local",
          port: 9000,
          timeoutMs: 2000,
        },
      },
    ]);
  });

  it("names the file, line and field of each error", () => {
    const decoded = decodeYaml(`extensionProviders:
- name: http
  envoyExtAuthzHttp:
    service: ext-authz
    port: 0
    pathPrefix: check
    statusOnError: "299"
    headersToUpstreamOnAllow: ["*"]
    includeRequestBodyInCheck: {maxRequestBytes: 10}
- name: grpc
  envoyExtAuthzGrpc: {service: "", port: 9000, failOpen: "yes", pathPrefix: /x}
`);
    expect(
      decoded.errors.map((e) => `${e.position.line}:${e.position.column} ${e.path}: ${e.message}`),
    ).toEqual([
      "5:11 extensionProviders[0].envoyExtAuthzHttp.port: expected a number between 1 and 65535",
      "6:17 extensionProviders[0].envoyExtAuthzHttp.pathPrefix: must begin with /",
      '7:20 extensionProviders[0].envoyExtAuthzHttp.statusOnError: expected an HTTP status code Envoy knows, as a string ("403", "503")',
      '8:32 extensionProviders[0].envoyExtAuthzHttp.headersToUpstreamOnAllow[0]: a single "*" is not supported; use a prefix* or *suffix pattern',
      "9:32 extensionProviders[0].envoyExtAuthzHttp.includeRequestBodyInCheck: not supported by crema's proxy: the check cannot carry the request body yet",
      "11:32 extensionProviders[1].envoyExtAuthzGrpc.service: must not be empty",
      "11:58 extensionProviders[1].envoyExtAuthzGrpc.failOpen: expected true or false",
    ]);
    expect(decoded.warnings.map((w) => w.path)).toEqual([
      "extensionProviders[1].envoyExtAuthzGrpc.pathPrefix",
    ]);
  });
});

describe("decodeMeshConfig: telemetry providers", () => {
  it("reads envoyFileAccessLog and prometheus providers and every defaultProviders list", () => {
    const decoded = decodeYaml(`extensionProviders:
- name: json-log
  envoyFileAccessLog:
    path: /tmp/access.log
    logFormat:
      labels: {code: "%RESPONSE_CODE%"}
- name: text-log
  envoyFileAccessLog:
    logFormat: {text: "%DURATION%"}
- name: prom
  prometheus: {}
defaultProviders:
  metrics: [prom]
  accessLogging: [json-log]
`);
    expect(decoded.errors).toEqual([]);
    expect(decoded.meshConfig).toEqual({
      extensionProviders: [
        {
          name: "json-log",
          envoyFileAccessLog: {
            path: "/tmp/access.log",
            logFormat: { labels: { code: "%RESPONSE_CODE%" } },
          },
        },
        {
          name: "text-log",
          envoyFileAccessLog: { path: "/dev/stdout", logFormat: { text: "%DURATION%" } },
        },
        { name: "prom", prometheus: {} },
      ],
      defaultMetricsProviders: ["prom"],
      defaultAccessLogProviders: ["json-log"],
    });
  });

  it("names a logFormat that sets both text and labels", () => {
    const decoded = decodeYaml(`extensionProviders:
- name: both
  envoyFileAccessLog:
    logFormat: {text: "x", labels: {a: b}}
`);
    expect(
      decoded.errors.map((e) => `${e.position.line}:${e.position.column} ${e.path}: ${e.message}`),
    ).toEqual([
      "4:16 extensionProviders[0].envoyFileAccessLog.logFormat: set either text (a format string) or labels (JSON keys to format strings)",
    ]);
  });

  it("finds Istio's built-in providers unless one of the mesh's takes the name", () => {
    expect(findExtensionProvider(DEFAULT_MESH_CONFIG, "Envoy")).toEqual({
      name: "envoy",
      envoyFileAccessLog: { path: "/dev/stdout" },
    });
    expect(findExtensionProvider(DEFAULT_MESH_CONFIG, "prometheus")).toEqual({
      name: "prometheus",
      prometheus: {},
    });
    const own = { name: "envoy", envoyFileAccessLog: { path: "/tmp/x" } };
    expect(findExtensionProvider({ extensionProviders: [own] }, "envoy")).toBe(own);
    expect(findExtensionProvider(DEFAULT_MESH_CONFIG, "nope")).toBeUndefined();
  });
});
