// Golden tests of the authentication filters: testdata/authn/<case>.yaml (Istio YAML plus one
// `kind: TestAuthn` document naming proxies and the key sets the resolver has fetched) →
// <case>.golden.yaml, the HTTP filters per proxy and listener class. UPDATE_GOLDEN=1 refreshes.
// Every filter must encode inside an HttpConnectionManager as Envoy's protos.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { discoverGoldenCases, expectGolden } from "../../../../test/support/golden.ts";
import type { JsonObject } from "../../../xds/proto-json.ts";
import { encodeResource } from "../../../xds/resource-codec.ts";
import { DEFAULT_MESH_CONFIG, type MeshConfig } from "../../model/mesh-config.ts";
import { decodeProxyNode, type ProxyNode } from "../../model/proxy.ts";
import { snapshotFromYaml } from "../../model/testing.ts";
import { HCM_TYPE, type ListenerClass, ROUTER_FILTER } from "../http-connection-manager.ts";
import { buildAuthnFilters } from "./authn-filters.ts";
import type { JwksLookup } from "./jwt-authn-filter.ts";

const DIR = join(import.meta.dirname, "../../../../testdata/authn");

interface TestProxy {
  name: string;
  type?: "sidecar" | "router";
  namespace?: string;
  labels?: Record<string, string>;
}

interface TestAuthn {
  proxies: TestProxy[];
  /** Key sets the control plane has fetched, by issuer and jwksUri. */
  jwks?: { issuer: string; jwksUri?: string; keys: string }[];
  meshConfig?: Partial<MeshConfig>;
}

function readCase(path: string): { yaml: string; spec: TestAuthn } {
  const docs = parseAllDocuments(readFileSync(path, "utf8"));
  const isSpec = (d: (typeof docs)[number]) =>
    (d.toJS() as { kind?: string } | null)?.kind === "TestAuthn";
  const spec = docs.find(isSpec)?.toJS() as TestAuthn | undefined;
  if (!spec?.proxies?.length) throw new Error(`${path} has no TestAuthn document with proxies`);
  const yaml = docs
    .filter((d) => !isSpec(d))
    .map((d) => d.toString())
    .join("---\n");
  return { yaml, spec };
}

function proxyOf(p: TestProxy): ProxyNode {
  const type = p.type ?? "sidecar";
  const namespace = p.namespace ?? "default";
  const decoded = decodeProxyNode({
    id: `${type}~10.0.0.1~${p.name}.${namespace}~${namespace}.svc.cluster.local`,
    metadata: { NAMESPACE: namespace, NAME: p.name, LABELS: p.labels ?? {} },
  });
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.proxy;
}

function lookupOf(spec: TestAuthn): JwksLookup {
  const fetched = new Map(
    (spec.jwks ?? []).map((j) => [`${j.issuer}\n${j.jwksUri ?? ""}`, j.keys]),
  );
  return { lookup: (issuer, jwksUri) => fetched.get(`${issuer}\n${jwksUri}`) };
}

function render(path: string): string {
  const { yaml, spec } = readCase(path);
  const snapshot = snapshotFromYaml(yaml, spec.meshConfig);
  const meshConfig = { ...DEFAULT_MESH_CONFIG, ...spec.meshConfig };
  const jwks = lookupOf(spec);
  const out: Record<string, Partial<Record<ListenerClass, JsonObject[]>>> = {};
  for (const p of [...spec.proxies].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const proxy = proxyOf(p);
    const classes: ListenerClass[] =
      proxy.kind === "router" ? ["gateway"] : ["sidecar-inbound", "sidecar-outbound"];
    out[p.name] = Object.fromEntries(
      classes.map((cls) => [cls, buildAuthnFilters({ meshConfig, proxy, snapshot, jwks }, cls)]),
    );
  }
  return stringify(out, { aliasDuplicateObjects: false, lineWidth: 0 });
}

const cases = discoverGoldenCases(DIR, ".yaml");

describe("authn golden cases", () => {
  it("finds the cases", () => expect(cases.length).toBeGreaterThan(0));
  for (const c of cases) {
    it(c.name, () => expectGolden(render(c.inputPath), c.goldenPath));
  }
});

describe("authn filters encode as Envoy protos", () => {
  for (const c of cases) {
    it(c.name, () => {
      const { spec, yaml } = readCase(c.inputPath);
      const snapshot = snapshotFromYaml(yaml, spec.meshConfig);
      const meshConfig = { ...DEFAULT_MESH_CONFIG, ...spec.meshConfig };
      for (const p of spec.proxies) {
        const proxy = proxyOf(p);
        const filters = buildAuthnFilters(
          { meshConfig, proxy, snapshot, jwks: lookupOf(spec) },
          proxy.kind === "router" ? "gateway" : "sidecar-inbound",
        );
        const hcm = { stat_prefix: "authn", http_filters: [...filters, ROUTER_FILTER] };
        expect(() => encodeResource(`type.googleapis.com/${HCM_TYPE}`, hcm), p.name).not.toThrow();
      }
    });
  }
});
