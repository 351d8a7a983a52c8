import { describe, expect, it } from "vitest";
import { gatewaySecrets } from "./gateway-secrets.ts";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [gatewaySecrets] });

const TLS_GATEWAY = `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: secure
  namespace: shop
spec:
  selector:
    istio: ingressgateway
  servers:
    - port:
        number: 443
        name: https-a
        protocol: HTTPS
      tls:
        mode: SIMPLE
        credentialName: missing-cert
      hosts:
        - a.example.com
    - port:
        number: 443
        name: https-b
        protocol: HTTPS
      tls:
        mode: SIMPLE
        credentialNames:
          - shop-cert
          - other-missing
      hosts:
        - b.example.com
`;

describe("gateway.secrets", () => {
  it("reports credentials missing from the gateway workload's namespace (IST0101)", () => {
    const yaml = HEALTHY_MESH + TLS_GATEWAY;
    expect(run(yaml)).toEqual([
      {
        code: "IST0101",
        severity: "error",
        resource: "Gateway shop/secure",
        path: "spec.servers[0].tls.credentialName",
        line: lineOf(yaml, "credentialName: missing-cert"),
      },
      {
        code: "IST0101",
        severity: "error",
        resource: "Gateway shop/secure",
        path: "spec.servers[1].tls.credentialNames[1]",
        line: lineOf(yaml, "- other-missing"),
      },
    ]);
  });

  it("stays quiet on a coherent mesh and when the input holds no Secrets there", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const withoutSecrets = HEALTHY_MESH.replace(
      /---\napiVersion: v1\nkind: Secret\n[\s\S]*?type: kubernetes.io\/tls\n/,
      "",
    );
    expect(withoutSecrets).not.toContain("kind: Secret");
    expect(run(withoutSecrets + TLS_GATEWAY)).toEqual([]);
  });
});
