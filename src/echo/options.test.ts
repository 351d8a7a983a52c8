// Options from the environment, the text parsers, and defaults.
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  echoOptionsFromEnv,
  parseDrainTimeout,
  parseLabels,
  parsePort,
  resolveEchoOptions,
} from "./options.ts";

describe("echoOptionsFromEnv", () => {
  it("reads every variable it knows", () => {
    const options = echoOptionsFromEnv({
      HOST: "127.0.0.1",
      PORT: "9090",
      GRPC_PORT: "9091",
      TCP_PORT: "0",
      POD_NAME: "reviews-v2-abc",
      POD_NAMESPACE: "bookinfo",
      SERVICE_VERSION: "v2",
      SERVICE_ACCOUNT: "reviews",
      LABELS: "app=reviews, version=v2,,",
      TLS_CERT: "/certs/tls.crt",
      TLS_KEY: "/certs/tls.key",
      TLS_CA: "/certs/ca.crt",
      DRAIN_TIMEOUT: "2s",
    });
    expect(options).toEqual({
      host: "127.0.0.1",
      port: 9090,
      grpcPort: 9091,
      tcpPort: 0,
      pod: "reviews-v2-abc",
      namespace: "bookinfo",
      version: "v2",
      serviceAccount: "reviews",
      labels: { app: "reviews", version: "v2" },
      tls: { certFile: "/certs/tls.crt", keyFile: "/certs/tls.key", caFile: "/certs/ca.crt" },
      drainTimeoutMs: 2000,
    });
  });

  it("leaves out unset and blank variables", () => {
    expect(echoOptionsFromEnv({ PORT: " ", HOST: "" })).toEqual({});
  });

  it("takes VERSION when SERVICE_VERSION is not set", () => {
    expect(echoOptionsFromEnv({ VERSION: "v3" }).version).toBe("v3");
    expect(echoOptionsFromEnv({ VERSION: "v3", SERVICE_VERSION: "v4" }).version).toBe("v4");
  });

  it("rejects malformed values with a coded error", () => {
    expect(() => echoOptionsFromEnv({ PORT: "http" })).toThrow(
      expect.objectContaining({ code: "CREMA_ECHO_INVALID_OPTION" }),
    );
    expect(() => echoOptionsFromEnv({ GRPC_PORT: "70000" })).toThrow(/GRPC_PORT/);
    expect(() => echoOptionsFromEnv({ LABELS: "app" })).toThrow(
      expect.objectContaining({ code: "CREMA_ECHO_INVALID_OPTION" }),
    );
    expect(() => echoOptionsFromEnv({ DRAIN_TIMEOUT: "soon" })).toThrow(
      expect.objectContaining({ code: "CREMA_ECHO_INVALID_OPTION" }),
    );
  });
});

describe("parsers", () => {
  it("parse ports", () => {
    expect(parsePort("0", "p")).toBe(0);
    expect(parsePort(" 65535 ", "p")).toBe(65535);
    for (const bad of ["", "-1", "65536", "1.5", "0x10", "8080a"]) {
      expect(() => parsePort(bad, "p")).toThrow();
    }
  });

  it("parse labels, keeping '=' inside values", () => {
    expect(parseLabels("a=1,b=x=y,c=")).toEqual({ a: "1", b: "x=y", c: "" });
    expect(() => parseLabels("=v")).toThrow();
  });

  it("parse drain timeouts as milliseconds or durations", () => {
    expect(parseDrainTimeout("2500")).toBe(2500);
    expect(parseDrainTimeout("1.5s")).toBe(1500);
    expect(parseDrainTimeout("0")).toBe(0);
    expect(() => parseDrainTimeout("-1s")).toThrow();
  });
});

describe("resolveEchoOptions", () => {
  it("fills in defaults", () => {
    const resolved = resolveEchoOptions({});
    expect(resolved).toMatchObject({
      host: "0.0.0.0",
      port: 8080,
      grpcPort: undefined,
      tcpPort: undefined,
      drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
      identity: {
        pod: hostname(),
        namespace: "default",
        version: "v1",
        serviceAccount: "default",
        labels: {},
      },
    });
  });

  it("checks values set in code", () => {
    expect(() => resolveEchoOptions({ port: 70_000 })).toThrow(/port/);
    expect(() => resolveEchoOptions({ drainTimeoutMs: -1 })).toThrow(/drain/);
    expect(() => resolveEchoOptions({ pod: "bad\r\nname" })).toThrow(/pod/);
    expect(() => resolveEchoOptions({ tls: { certFile: "c" } })).toThrow(/key/);
  });
});
