// Golden tests of the authorization translation: testdata/authz/<case>.yaml (AuthorizationPolicies
// plus one `kind: AuthzTest` document naming the workloads) → <case>.golden.yaml with, per
// workload, the HTTP filters of an inbound HCM (CUSTOM, then AUDIT, DENY, ALLOW) and the network
// filters of an inbound TCP chain. UPDATE_GOLDEN=1 refreshes. Every filter must encode.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { discoverGoldenCases, expectGolden } from "../../../../test/support/golden.ts";
import type { JsonObject } from "../../../xds/proto-json.ts";
import { encodeResource } from "../../../xds/resource-codec.ts";
import { TYPE_URL } from "../../../xds/type-urls.ts";
import type { MeshConfig } from "../../model/mesh-config.ts";
import { decodeProxyNode, type ProxyNode } from "../../model/proxy.ts";
import { snapshotFromYaml } from "../../model/testing.ts";
import { HCM_TYPE, ROUTER_FILTER } from "../http-connection-manager.ts";
import {
  buildAuthzHttpFilters,
  buildAuthzNetworkFilters,
  buildCustomAuthzHttpFilters,
} from "./authz-filters.ts";

const DIR = join(import.meta.dirname, "../../../../testdata/authz");

interface TestWorkload {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** "router" renders gateway listeners' filters. */
  type?: "sidecar" | "router";
}

interface AuthzTest {
  workloads: TestWorkload[];
  meshConfig?: Partial<MeshConfig>;
}

function readCase(path: string): { yaml: string; test: AuthzTest } {
  const docs = parseAllDocuments(readFileSync(path, "utf8"));
  const isTest = (d: (typeof docs)[number]) =>
    (d.toJS() as { kind?: string } | null)?.kind === "AuthzTest";
  const test = docs.find(isTest)?.toJS() as AuthzTest | undefined;
  if (!test?.workloads?.length) throw new Error(`${path} has no AuthzTest document with workloads`);
  const yaml = docs
    .filter((d) => !isTest(d))
    .map((d) => d.toString())
    .join("---\n");
  return { yaml, test };
}

function proxyOf(w: TestWorkload): ProxyNode {
  const namespace = w.namespace ?? "default";
  const decoded = decodeProxyNode({
    id: `${w.type ?? "sidecar"}~10.0.0.1~${w.name}.${namespace}~${namespace}.svc.cluster.local`,
    metadata: { NAMESPACE: namespace, NAME: w.name, LABELS: w.labels ?? {} },
  });
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.proxy;
}

function render(path: string): string {
  const { yaml, test } = readCase(path);
  const snapshot = snapshotFromYaml(yaml, { workloadCertificates: true, ...test.meshConfig });
  const out: Record<string, unknown> = {};
  for (const w of test.workloads) {
    const ctx = { snapshot, proxy: proxyOf(w) };
    const cls = w.type === "router" ? "gateway" : "sidecar-inbound";
    out[w.name] = {
      http: [...buildCustomAuthzHttpFilters(ctx, cls), ...buildAuthzHttpFilters(ctx, cls)],
      tcp: buildAuthzNetworkFilters(ctx),
    };
  }
  return stringify(out, { aliasDuplicateObjects: false, lineWidth: 0 });
}

/** A listener carrying the filters: one TCP chain and one HCM chain, for the encoder. */
function listenerOf(http: JsonObject[], tcp: JsonObject[]): JsonObject {
  const tcpProxy = {
    name: "envoy.filters.network.tcp_proxy",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
      stat_prefix: "inbound|8080||",
      cluster: "inbound|8080||",
    },
  };
  const hcm = {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: {
      "@type": `type.googleapis.com/${HCM_TYPE}`,
      stat_prefix: "inbound_0.0.0.0_8080;",
      route_config: {},
      http_filters: [...http, ROUTER_FILTER],
    },
  };
  return {
    name: "authz",
    filter_chains: [
      { filter_chain_match: { transport_protocol: "raw_buffer" }, filters: [...tcp, tcpProxy] },
      { filter_chain_match: { transport_protocol: "tls" }, filters: [hcm] },
    ],
  };
}

const cases = discoverGoldenCases(DIR, ".yaml");

describe("AuthorizationPolicy golden cases", () => {
  it("finds the cases", () => expect(cases.length).toBeGreaterThanOrEqual(15));
  for (const c of cases) {
    it(c.name, () => expectGolden(render(c.inputPath), c.goldenPath));
  }
});

describe("authz golden filters encode as Envoy protos", () => {
  for (const c of cases) {
    it(c.name, () => {
      const golden = parse(readFileSync(c.goldenPath, "utf8")) as Record<
        string,
        { http: JsonObject[]; tcp: JsonObject[] }
      >;
      for (const [workload, filters] of Object.entries(golden)) {
        const listener = listenerOf(filters.http, filters.tcp);
        expect(() => encodeResource(TYPE_URL.listener, listener), workload).not.toThrow();
      }
    });
  }
});
