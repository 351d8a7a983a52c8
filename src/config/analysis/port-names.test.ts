import { describe, expect, it } from "vitest";
import { portNames, protocolFromPortName } from "./port-names.ts";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [portNames] });

describe("service.port-names", () => {
  it("parses protocol prefixes as Istio does", () => {
    expect(protocolFromPortName("http")).toBe("http");
    expect(protocolFromPortName("HTTP2-web")).toBe("http2");
    expect(protocolFromPortName("grpc-web-ui")).toBe("grpc-web");
    expect(protocolFromPortName("web")).toBeUndefined();
    expect(protocolFromPortName("httpx")).toBeUndefined();
  });

  it("reports ports without a protocol prefix or appProtocol (IST0118, info)", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: v1
kind: Service
metadata:
  name: legacy
  namespace: shop
spec:
  selector:
    app: legacy
  ports:
    - name: web
      port: 8080
    - port: 8081
    - name: http-ok
      port: 8082
    - name: db
      port: 3306
    - name: dns
      port: 5353
      protocol: UDP
    - name: custom
      port: 8083
      appProtocol: http
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0118",
        severity: "info",
        resource: "Service shop/legacy",
        path: "spec.ports[0].name",
        line: lineOf(yaml, "- name: web"),
      },
      {
        code: "IST0118",
        severity: "info",
        resource: "Service shop/legacy",
        path: "spec.ports[1]",
        line: lineOf(yaml, "- port: 8081"),
      },
    ]);
  });

  it("stays quiet on prefixed names, appProtocol and Istio's own Services", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml = `${HEALTHY_MESH}---
apiVersion: v1
kind: Service
metadata:
  name: istiod
  namespace: istio-system
  labels:
    app: istiod
spec:
  selector:
    app: istiod
  ports:
    - name: grpc-xds
      port: 15010
    - name: webhook
      port: 443
`;
    expect(run(yaml)).toEqual([]);
  });
});
