import { describe, expect, it } from "vitest";
import { type AppProbersParse, parseAppProbers } from "./app-probers.ts";

function errorsOf(parsed: AppProbersParse): readonly string[] {
  return parsed.ok ? [] : parsed.errors;
}

describe("parseAppProbers", () => {
  it("reads the injector's JSON: httpGet, tcpSocket and grpc probers", () => {
    const parsed = parseAppProbers(
      JSON.stringify({
        "/app-health/web/readyz": {
          httpGet: {
            path: "/ready?deep=1",
            port: 8080,
            scheme: "HTTPS",
            host: "ignored.example",
            httpHeaders: [{ name: "X-Probe", value: "yes" }],
          },
          timeoutSeconds: 3,
        },
        "/app-health/web/livez": { tcpSocket: { port: 8080 }, timeoutSeconds: 1 },
        "/app-health/api/startupz": { grpc: { port: 9090, service: "api" } },
        "/app-lifecycle/web/prestopz": { httpGet: { path: "stop", port: 8080 } },
      }),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(Object.fromEntries(parsed.probers)).toEqual({
      "/app-health/web/readyz": {
        kind: "httpGet",
        path: "/ready?deep=1",
        port: 8080,
        scheme: "HTTPS",
        httpHeaders: [{ name: "X-Probe", value: "yes" }],
        timeoutMs: 3000,
      },
      "/app-health/web/livez": { kind: "tcpSocket", port: 8080, timeoutMs: 1000 },
      // No timeoutSeconds: Kubernetes' default of 1 s.
      "/app-health/api/startupz": { kind: "grpc", port: 9090, service: "api", timeoutMs: 1000 },
      // A path without its leading slash gets one, as pilot-agent adds it.
      "/app-lifecycle/web/prestopz": {
        kind: "httpGet",
        path: "/stop",
        port: 8080,
        scheme: "HTTP",
        httpHeaders: [],
        timeoutMs: 1000,
      },
    });
  });

  it("treats unset, blank and null as no probers", () => {
    for (const text of [undefined, "", "  ", "null", "{}"]) {
      const parsed = parseAppProbers(text);
      expect(parsed.ok && parsed.probers.size, String(text)).toBe(0);
    }
  });

  it("refuses what is not JSON, or not an object", () => {
    expect(errorsOf(parseAppProbers("{oops"))).toEqual([
      expect.stringMatching(/^ISTIO_KUBE_APP_PROBERS: not valid JSON \(/),
    ]);
    expect(errorsOf(parseAppProbers("[1]"))).toEqual([
      "ISTIO_KUBE_APP_PROBERS: must be a JSON object of prober paths, got [1]",
    ]);
  });

  it("collects every problem, each with where it is", () => {
    const parsed = parseAppProbers(
      JSON.stringify({
        "/healthz/web": { tcpSocket: { port: 80 } },
        "/app-health/a/readyz": { httpGet: { path: "/", port: "http" } },
        "/app-health/b/readyz": { httpGet: { port: 8080 }, tcpSocket: { port: 8080 } },
        "/app-health/c/readyz": { exec: { command: ["true"] } },
        "/app-health/d/readyz": { httpGet: { path: "/a b", port: 70000, scheme: "ftp" } },
        "/app-health/e/readyz": { grpc: { port: 9090, service: 7 }, timeoutSeconds: -1 },
        "/app-health/f/readyz": {
          httpGet: { port: 80, httpHeaders: [{ name: "bad name", value: "x" }, { name: "X" }] },
        },
        "/app-health/g/livez": null,
        "/app-health/h/livez": { tcpSocket: "8080" },
      }),
    );
    expect(errorsOf(parsed)).toEqual([
      'ISTIO_KUBE_APP_PROBERS["/healthz/web"]: the path must be /app-health/<container>/<readyz|livez|startupz> (or /app-lifecycle/<container>/<prestopz|poststartz>)',
      'ISTIO_KUBE_APP_PROBERS["/app-health/a/readyz"].httpGet.port: the port must be a number (named ports are resolved by the injector), got "http"',
      'ISTIO_KUBE_APP_PROBERS["/app-health/b/readyz"]: must have exactly one of httpGet, tcpSocket or grpc, got httpGet and tcpSocket',
      'ISTIO_KUBE_APP_PROBERS["/app-health/c/readyz"]: must have exactly one of httpGet, tcpSocket or grpc, got none',
      'ISTIO_KUBE_APP_PROBERS["/app-health/d/readyz"].httpGet.path: must be a URL path without spaces or control characters, got "/a b"',
      'ISTIO_KUBE_APP_PROBERS["/app-health/d/readyz"].httpGet.scheme: must be HTTP or HTTPS, got "ftp"',
      'ISTIO_KUBE_APP_PROBERS["/app-health/d/readyz"].httpGet.port: the port must be a whole number from 1 to 65535, got 70000',
      'ISTIO_KUBE_APP_PROBERS["/app-health/e/readyz"].timeoutSeconds: must be a whole number of seconds, got -1',
      'ISTIO_KUBE_APP_PROBERS["/app-health/e/readyz"].grpc.service: must be a string, got 7',
      'ISTIO_KUBE_APP_PROBERS["/app-health/f/readyz"].httpGet.httpHeaders[0].name: must be an HTTP header name, got "bad name"',
      'ISTIO_KUBE_APP_PROBERS["/app-health/g/livez"]: must be an object with httpGet, tcpSocket or grpc, got null',
      'ISTIO_KUBE_APP_PROBERS["/app-health/h/livez"].tcpSocket: must be an object, got "8080"',
    ]);
  });

  it("takes a header without a value as an empty one, as Kubernetes does", () => {
    const parsed = parseAppProbers(
      '{"/app-health/f/readyz":{"httpGet":{"port":80,"httpHeaders":[{"name":"X-Empty"}]}}}',
    );
    expect(parsed.ok && parsed.probers.get("/app-health/f/readyz")).toMatchObject({
      httpHeaders: [{ name: "X-Empty", value: "" }],
    });
  });
});
