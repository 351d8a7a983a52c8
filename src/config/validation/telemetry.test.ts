// Telemetry semantics: providers, tracing tags and sampling, metric overrides, access-log filters.
import { describe, expect, it } from "vitest";
import { expectClean, invalidCases } from "../testing.ts";
import { celSyntaxProblem } from "./telemetry-filter.ts";

/** A Telemetry whose spec body (indented two spaces) starts on line 7. */
const tel = (body: string, name = "telemetry") => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: ${name}
  namespace: istio-system
spec:
${body.replace(/^\n/, "")}`;

describe("Telemetry semantics", () => {
  it("accepts tracing, metrics and access logging", () => {
    expectClean(
      [
        tel(`
  tracing:
  - providers:
    - name: zipkin
    randomSamplingPercentage: 12.5
    disableSpanReporting: false
    match:
      mode: SERVER
    customTags:
      cluster:
        literal:
          value: east
      pod:
        environment:
          name: POD_NAME
          defaultValue: unknown
      user:
        header:
          name: x-user
      route:
        formatter:
          value: "%ROUTE_NAME%"
  metrics:
  - providers:
    - name: prometheus
    reportingInterval: 15s
    overrides:
    - match:
        metric: REQUEST_COUNT
        mode: CLIENT_AND_SERVER
      tagOverrides:
        request_host:
          value: request.host
        destination_port:
          value: string(destination.port)
        user:
          operation: UPSERT
          value: "request.headers['x-user']"
        response_code:
          operation: REMOVE
    - match:
        customMetric: my_metric
      disabled: true
  accessLogging:
  - providers:
    - name: envoy
    filter:
      expression: "response.code >= 400 && request.headers['x-debug'] != 'off'"
  - disabled: true
    match:
      mode: CLIENT`),
        tel("  tracing:\n  - randomSamplingPercentage: 0", "zero"),
        tel(
          "  selector:\n    matchLabels: {app: reviews}\n  metrics:\n  - providers: [{name: prometheus}]",
          "sel",
        ),
      ].join("\n---\n"),
    );
  });

  it("checks CEL syntax with a CEL parser", () => {
    expect(celSyntaxProblem("response.code >= 400")).toBeUndefined();
    expect(
      celSyntaxProblem("request.url_path.startsWith('/api') || response.flags != '-'"),
    ).toBeUndefined();
    expect(celSyntaxProblem(`connection.mtls && "a\\"b" == x`)).toBeUndefined();
    expect(celSyntaxProblem("size(request.headers) > 2 ? true : false")).toBeUndefined();
    expect(celSyntaxProblem("has(request.headers.foo) && 'x' in request.headers")).toBeUndefined();
    expect(celSyntaxProblem("string(destination.port)")).toBeUndefined();
    // Only syntax: attributes the proxy does not know are its business.
    expect(celSyntaxProblem("filter_state['wasm.upstream_peer'] != ''")).toBeUndefined();
    expect(celSyntaxProblem("  ")).toMatch(/empty/);
    expect(celSyntaxProblem("response.code = 500")).toBe("Unexpected character: = at character 15");
    expect(celSyntaxProblem("(response.code >= 400")).toMatch(/Expected RPAREN, got EOF/);
    expect(celSyntaxProblem("response.code >= 400)")).toMatch(/Unexpected character: '\)'/);
    expect(celSyntaxProblem("request.host == 'x")).toMatch(/Unterminated string/);
    expect(celSyntaxProblem("response.code >=")).toMatch(/Unexpected token: EOF at character 17/);
    expect(celSyntaxProblem("&& x")).toMatch(/Unexpected token: AND at character 1/);
    expect(celSyntaxProblem("'\\q'")).toMatch(/Invalid escape sequence/);
    expect(celSyntaxProblem("request.path.matches('^/a')")).toMatch(
      /^matches\(\) at character 1 is not supported/,
    );
  });

  invalidCases([
    {
      name: "empty provider name",
      yaml: tel(`
  tracing:
  - providers:
    - name: ""`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.tracing[0].providers[0].name",
      line: 9,
      column: 13,
    },
    {
      name: "sampling above 100 percent",
      yaml: tel(`
  tracing:
  - randomSamplingPercentage: 150`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.tracing[0].randomSamplingPercentage",
      line: 8,
      column: 31,
    },
    {
      name: "custom tag with two sources",
      yaml: tel(`
  tracing:
  - customTags:
      env:
        literal: {value: prod}
        header: {name: x-env}`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.tracing[0].customTags.env.header",
      line: 11,
      column: 17,
    },
    {
      name: "literal tag with an empty value",
      yaml: tel(`
  tracing:
  - customTags:
      env:
        literal:
          value: ""`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.tracing[0].customTags.env.literal.value",
      line: 11,
      column: 18,
    },
    {
      name: "UPSERT tag override without value",
      yaml: tel(`
  metrics:
  - overrides:
    - tagOverrides:
        request_host:
          operation: UPSERT`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.metrics[0].overrides[0].tagOverrides.request_host.value",
      line: 11,
      column: 11,
    },
    {
      name: "REMOVE tag override with a value",
      yaml: tel(`
  metrics:
  - overrides:
    - tagOverrides:
        request_host:
          operation: REMOVE
          value: request.host`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.metrics[0].overrides[0].tagOverrides.request_host.value",
      line: 12,
      column: 18,
    },
    {
      name: "tag override value that is not CEL",
      yaml: tel(`
  metrics:
  - overrides:
    - tagOverrides:
        request_host:
          value: request.host ==`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.metrics[0].overrides[0].tagOverrides.request_host.value",
      line: 11,
      column: 18,
    },
    {
      name: "metric and customMetric together",
      yaml: tel(`
  metrics:
  - overrides:
    - match:
        metric: REQUEST_COUNT
        customMetric: my_metric`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.metrics[0].overrides[0].match.customMetric",
      line: 11,
      column: 23,
    },
    {
      name: "reporting interval below 1ms",
      yaml: tel(`
  metrics:
  - reportingInterval: 0s`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.metrics[0].reportingInterval",
      line: 8,
      column: 24,
    },
    {
      name: "access log filter that is not CEL",
      yaml: tel(`
  accessLogging:
  - filter:
      expression: response.code = 500`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.accessLogging[0].filter.expression",
      line: 9,
      column: 19,
    },
    {
      name: "access log filter without expression",
      yaml: tel(`
  accessLogging:
  - filter: {}`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.accessLogging[0].filter.expression",
      line: 8,
      column: 13,
    },
    {
      name: "two tracing entries",
      yaml: tel(`
  tracing:
  - providers: [{name: zipkin}]
  - providers: [{name: otel}]`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.tracing[1]",
      line: 9,
      column: 5,
      severity: "warning",
    },
    {
      name: "selector together with targetRef",
      yaml: tel(`
  selector:
    matchLabels: {app: a}
  targetRef:
    kind: Gateway
    group: gateway.networking.k8s.io
    name: gw`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.targetRef",
      line: 10,
      column: 5,
    },
  ]);
});
