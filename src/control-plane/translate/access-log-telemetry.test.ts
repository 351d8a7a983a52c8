// Telemetry API access logging → HCM/tcp_proxy access_log: Istio's precedence (root namespace,
// namespace, workload), providers, CEL filters, disabling, CLIENT/SERVER match, and the
// meshConfig.accessLogFile fallback only while no Telemetry resource configures logging.
import { describe, expect, it } from "vitest";
import type { MeshConfig } from "../model/mesh-config.ts";
import { snapshotFromYaml, telemetryYaml } from "../model/testing.ts";
import { accessLogsFor } from "./access-log.ts";
import { proxyNode } from "./clusters-testing.ts";

const ROOT_ENVOY = telemetryYaml(
  "mesh-default",
  "istio-system",
  "accessLogging: [{providers: [{name: envoy}]}]",
);
const CUSTOMER = proxyNode({ namespace: "shop", labels: { app: "customer" } });
const ORDER = proxyNode({ namespace: "shop", labels: { app: "order" } });

function logs(
  yaml: string,
  proxy = CUSTOMER,
  mode: "CLIENT" | "SERVER" = "CLIENT",
  mesh?: Partial<MeshConfig>,
) {
  const snapshot = snapshotFromYaml(
    yaml || "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    mesh,
  );
  return accessLogsFor({ meshConfig: snapshot.meshConfig, proxy, snapshot }, mode);
}

const paths = (list: ReturnType<typeof logs>) =>
  list.map((l) => (l.typed_config as { path: string }).path);

describe("Telemetry access logging", () => {
  it("turns on the built-in envoy provider (stdout, Istio's TEXT format) mesh-wide", () => {
    const [log, ...rest] = logs(ROOT_ENVOY);
    expect(rest).toEqual([]);
    expect(log).toMatchObject({
      name: "envoy.access_loggers.file",
      typed_config: { path: "/dev/stdout", log_format: { text_format_source: {} } },
    });
    expect(log).not.toHaveProperty("filter");
    expect(paths(logs(ROOT_ENVOY, ORDER, "SERVER"))).toEqual(["/dev/stdout"]);
  });

  it("overrides meshConfig.accessLogFile once any Telemetry configures logging", () => {
    const file = { accessLogFile: "/tmp/mesh.log" };
    expect(paths(logs("", CUSTOMER, "CLIENT", file))).toEqual(["/tmp/mesh.log"]);
    expect(paths(logs(ROOT_ENVOY, CUSTOMER, "CLIENT", file))).toEqual(["/dev/stdout"]);
    const off = telemetryYaml("quiet", "istio-system", "accessLogging: [{disabled: true}]");
    expect(
      logs(off, CUSTOMER, "CLIENT", { ...file, defaultAccessLogProviders: ["envoy"] }),
    ).toEqual([]);
  });

  it("disables logging for one workload, leaving the others", () => {
    const yaml =
      ROOT_ENVOY +
      telemetryYaml(
        "no-logs",
        "shop",
        "selector: {matchLabels: {app: order}}\naccessLogging: [{disabled: true}]",
      );
    expect(logs(yaml, ORDER)).toEqual([]);
    expect(paths(logs(yaml, CUSTOMER))).toEqual(["/dev/stdout"]);
  });

  it("carries a filter expression as Envoy's CEL extension filter", () => {
    const yaml = telemetryYaml(
      "errors",
      "shop",
      'accessLogging: [{providers: [{name: envoy}], filter: {expression: "response.code >= 400"}}]',
    );
    expect(logs(yaml)[0]).toMatchObject({
      filter: {
        extension_filter: {
          name: "envoy.access_loggers.extension_filters.cel",
          typed_config: {
            "@type":
              "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
            expression: "response.code >= 400",
          },
        },
      },
    });
  });

  it("matches CLIENT or SERVER mode", () => {
    const yaml = telemetryYaml(
      "server-only",
      "shop",
      "accessLogging: [{providers: [{name: envoy}], match: {mode: SERVER}}]",
    );
    expect(logs(yaml, CUSTOMER, "CLIENT")).toEqual([]);
    expect(paths(logs(yaml, CUSTOMER, "SERVER"))).toEqual(["/dev/stdout"]);
  });

  it("lets a workload Telemetry replace the namespace's providers", () => {
    const mesh: Partial<MeshConfig> = {
      extensionProviders: [
        {
          name: "json-file",
          envoyFileAccessLog: {
            path: "/tmp/json.log",
            logFormat: { labels: { code: "%RESPONSE_CODE%" } },
          },
        },
      ],
    };
    const yaml =
      telemetryYaml("ns", "shop", "accessLogging: [{providers: [{name: envoy}]}]") +
      telemetryYaml(
        "wl",
        "shop",
        "selector: {matchLabels: {app: order}}\naccessLogging: [{providers: [{name: json-file}]}]",
      );
    const [json, ...rest] = logs(yaml, ORDER, "CLIENT", mesh);
    expect(rest).toEqual([]);
    expect(json).toMatchObject({
      typed_config: {
        path: "/tmp/json.log",
        log_format: { json_format: { code: "%RESPONSE_CODE%" } },
      },
    });
    expect(paths(logs(yaml, CUSTOMER, "CLIENT", mesh))).toEqual(["/dev/stdout"]);
  });

  it("ignores providers that are not access loggers or do not exist", () => {
    const yaml = telemetryYaml(
      "odd",
      "shop",
      "accessLogging: [{providers: [{name: prometheus}, {name: nowhere}]}]",
    );
    expect(logs(yaml)).toEqual([]);
  });

  it("ignores Telemetry of other namespaces and non-matching selectors", () => {
    const yaml =
      telemetryYaml("other", "elsewhere", "accessLogging: [{providers: [{name: envoy}]}]") +
      telemetryYaml(
        "wl",
        "shop",
        "selector: {matchLabels: {app: nobody}}\naccessLogging: [{providers: [{name: envoy}]}]",
      );
    expect(logs(yaml)).toEqual([]);
  });
});
