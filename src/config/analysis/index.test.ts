import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Resource } from "../resource.ts";
import { validateSources } from "../validate.ts";
import { type Analyzer, analyzeResources, defaultAnalyzers } from "./index.ts";
import { analyzeYaml, findings, HEALTHY_MESH } from "./testing.ts";

const BROKEN_MESH = "testdata/analyze/broken-mesh.yaml";
const BROKEN_MESH_TEXT = readFileSync(
  fileURLToPath(new URL(`../../../${BROKEN_MESH}`, import.meta.url)),
  "utf8",
);

function load(path: string): Resource[] {
  return validateSources([{ path, text: BROKEN_MESH_TEXT }]).resources;
}

describe("analyzeResources", () => {
  it("finds nothing in a coherent mesh", () => {
    const { diagnostics, validation } = analyzeYaml(HEALTHY_MESH);
    expect(validation).toEqual([]);
    expect(diagnostics).toEqual([]);
  });

  it("finds every kind of problem in testdata/analyze/broken-mesh.yaml", () => {
    const { resources, diagnostics: validation } = validateSources([
      { path: BROKEN_MESH, text: BROKEN_MESH_TEXT },
    ]);
    expect(validation.filter((d) => d.severity === "error")).toEqual([]);
    const diagnostics = analyzeResources(resources);
    expect([...new Set(diagnostics.map((d) => d.code))].sort()).toEqual([
      "CREMA_ANALYSIS_DESTINATION_RULE_HOST_NOT_FOUND",
      "IST0101",
      "IST0102",
      "IST0104",
      "IST0109",
      "IST0110",
      "IST0111",
      "IST0112",
      "IST0113",
      "IST0118",
      "IST0127",
      "IST0131",
      "IST0132",
      "IST0145",
      "IST0173",
    ]);
    for (const d of diagnostics) {
      expect(d.position?.file).toBe(BROKEN_MESH);
      expect(d.message.length).toBeGreaterThan(40);
    }
    // Sorted by position, so output is stable.
    const lines = diagnostics.map((d) => d.position!.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it("declares every code each analyzer reports, and every analyzer has a unique name", () => {
    const analyzers = defaultAnalyzers();
    expect(new Set(analyzers.map((a) => a.name)).size).toBe(analyzers.length);
    const internal = analyzeResources(load(BROKEN_MESH)).filter(
      (d) => d.code === "CREMA_BASE_INTERNAL",
    );
    expect(internal).toEqual([]);
  });

  it("reports only the requested namespaces but resolves references across all of them", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: front
  namespace: edge
spec:
  hosts:
    - shop.example.com
  gateways:
    - shop/shop-gateway
  http:
    - route:
        - destination:
            host: reviews.shop.svc.cluster.local
            subset: v1
        - destination:
            host: ratings.shop.svc.cluster.local
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ratings
  namespace: shop
spec:
  host: ratings
`;
    expect(findings(yaml, { namespaces: ["edge"] })).toEqual([
      expect.objectContaining({
        code: "IST0101",
        resource: "VirtualService edge/front",
        path: "spec.http[0].route[1].destination.host",
      }),
    ]);
    expect(findings(yaml, { namespaces: ["shop"] }).map((f) => f.code)).toEqual([
      "CREMA_ANALYSIS_DESTINATION_RULE_HOST_NOT_FOUND",
    ]);
  });

  it("turns an analyzer that throws, or reports an undeclared code, into CREMA_BASE_INTERNAL", () => {
    const throwing: Analyzer = {
      name: "test.throws",
      codes: [],
      run() {
        throw new Error("boom");
      },
    };
    const undeclared: Analyzer = {
      name: "test.undeclared",
      codes: ["IST0101"],
      run(ctx) {
        const [first] = ctx.resources;
        if (first) ctx.report(first, [], "IST0102", "info", "not declared");
      },
    };
    const resources = load(BROKEN_MESH);
    const out = analyzeResources(resources, {
      analyzers: [throwing, undeclared, ...defaultAnalyzers()],
    });
    const internal = out.filter((d) => d.code === "CREMA_BASE_INTERNAL");
    expect(internal.map((d) => d.message)).toEqual([
      "internal error in analyzer test.throws: boom",
      "internal error in analyzer test.undeclared: reported IST0102, which it does not declare",
    ]);
    // The other analyzers still ran.
    expect(out.length).toBe(analyzeResources(resources).length + 2);
  });

  it("tolerates odd but schema-valid resources of every kind", () => {
    const kinds: Array<[string, string]> = [
      ["networking.istio.io/v1", "VirtualService"],
      ["networking.istio.io/v1", "DestinationRule"],
      ["networking.istio.io/v1", "Gateway"],
      ["networking.istio.io/v1", "ServiceEntry"],
      ["networking.istio.io/v1", "Sidecar"],
      ["networking.istio.io/v1", "WorkloadEntry"],
      ["networking.istio.io/v1alpha3", "EnvoyFilter"],
      ["security.istio.io/v1", "PeerAuthentication"],
      ["security.istio.io/v1", "AuthorizationPolicy"],
      ["security.istio.io/v1", "RequestAuthentication"],
      ["telemetry.istio.io/v1", "Telemetry"],
      ["extensions.istio.io/v1alpha1", "WasmPlugin"],
      ["v1", "Namespace"],
      ["v1", "Service"],
      ["v1", "Pod"],
      ["v1", "Secret"],
      ["apps/v1", "Deployment"],
    ];
    const empty = kinds
      .map(
        ([apiVersion, kind]) =>
          `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: odd\n`,
      )
      .join("---\n");
    const odd = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: odd-routes
spec:
  hosts: []
  gateways: []
  http:
    - {}
    - match: []
      route: []
      mirror: {}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: odd-gateway
spec:
  selector: {}
  servers:
    - port:
        number: 80
      hosts: []
      tls: {}
`;
    const { diagnostics } = analyzeYaml(`${empty}---\n${odd}`);
    expect(diagnostics.filter((d) => d.code === "CREMA_BASE_INTERNAL")).toEqual([]);
  });
});
