// Golden tests of translateProxy: testdata/translate/<case>.yaml (Istio + Kubernetes YAML plus one
// `kind: TestProxy` document naming the proxies to render) → <case>.golden.yaml; UPDATE_GOLDEN=1
// refreshes. Every resource of every golden file must encode as its Envoy type.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { discoverGoldenCases, expectGolden } from "../../../test/support/golden.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { encodeResource } from "../../xds/resource-codec.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import type { MeshConfig } from "../model/mesh-config.ts";
import { decodeProxyNode, type ProxyNode } from "../model/proxy.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import type { TranslateMode } from "./listener-common.ts";
import { translateProxy } from "./translate-proxy.ts";

const DIR = join(import.meta.dirname, "../../../testdata/translate");

interface TestProxy {
  name: string;
  type?: "sidecar" | "router" | "proxyless";
  namespace?: string;
  ips?: string[];
  labels?: Record<string, string>;
  metadata?: Record<string, unknown>;
  mode?: TranslateMode;
  appAddress?: string;
  listenerNames?: string[];
  locality?: { region?: string; zone?: string; subzone?: string };
}

interface TestCase {
  yaml: string;
  proxies: TestProxy[];
  meshConfig?: Partial<MeshConfig>;
}

/** Splits a case file into the mesh YAML and its TestProxy document. */
function readCase(path: string): TestCase {
  const docs = parseAllDocuments(readFileSync(path, "utf8"));
  const isTestProxy = (d: (typeof docs)[number]) =>
    (d.toJS() as { kind?: string } | null)?.kind === "TestProxy";
  const spec = docs.find(isTestProxy)?.toJS() as {
    proxies?: TestProxy[];
    meshConfig?: Partial<MeshConfig>;
  };
  if (!spec?.proxies?.length) throw new Error(`${path} has no TestProxy document with proxies`);
  const yaml = docs
    .filter((d) => !isTestProxy(d))
    .map((d) => d.toString())
    .join("---\n");
  return {
    yaml,
    proxies: spec.proxies,
    ...(spec.meshConfig ? { meshConfig: spec.meshConfig } : {}),
  };
}

function proxyOf(p: TestProxy): ProxyNode {
  const type = p.type ?? "sidecar";
  const namespace = p.namespace ?? "default";
  const ips = p.ips ?? ["10.0.0.1"];
  const prefix = type === "proxyless" ? "grpc" : type;
  const decoded = decodeProxyNode({
    id: `${prefix}~${ips[0]}~${p.name}.${namespace}~${namespace}.svc.cluster.local`,
    metadata: {
      NAMESPACE: namespace,
      NAME: p.name,
      INSTANCE_IPS: ips.join(","),
      LABELS: p.labels ?? {},
      ...(type === "proxyless" ? { GENERATOR: "grpc" } : {}),
      ...(p.metadata as JsonObject | undefined),
    },
    ...(p.locality
      ? {
          locality: {
            region: p.locality.region ?? "",
            zone: p.locality.zone ?? "",
            sub_zone: p.locality.subzone ?? "",
          },
        }
      : {}),
  });
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.proxy;
}

function render(c: TestCase): string {
  const snapshot = snapshotFromYaml(c.yaml, c.meshConfig);
  const out: Record<string, unknown> = {};
  for (const p of [...c.proxies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const resources = translateProxy(snapshot, proxyOf(p), {
      ...(p.mode ? { mode: p.mode } : {}),
      ...(p.appAddress ? { appAddress: p.appAddress } : {}),
      ...(p.listenerNames ? { listenerNames: p.listenerNames } : {}),
    });
    out[p.name] = {
      listeners: [...resources.listeners.values()],
      routes: [...resources.routes.values()],
      clusters: [...resources.clusters.values()],
      endpoints: [...resources.endpoints.values()],
    };
  }
  return stringify(out, { aliasDuplicateObjects: false, lineWidth: 0 });
}

const cases = discoverGoldenCases(DIR, ".yaml");

describe("translateProxy golden cases", () => {
  it("finds the cases", () => expect(cases.length).toBeGreaterThan(0));
  for (const c of cases) {
    it(c.name, () => expectGolden(render(readCase(c.inputPath)), c.goldenPath));
  }
});

const TYPES = {
  listeners: TYPE_URL.listener,
  routes: TYPE_URL.routeConfiguration,
  clusters: TYPE_URL.cluster,
  endpoints: TYPE_URL.clusterLoadAssignment,
} as const;

describe("golden resources encode as Envoy protos", () => {
  for (const c of cases) {
    it(c.name, () => {
      const golden = parse(readFileSync(c.goldenPath, "utf8")) as Record<
        string,
        Record<string, JsonObject[]>
      >;
      for (const [proxy, resources] of Object.entries(golden)) {
        for (const [kind, typeUrl] of Object.entries(TYPES)) {
          for (const resource of resources[kind] ?? []) {
            const label = `${proxy} ${kind} ${String(resource.name ?? resource.cluster_name)}`;
            expect(() => encodeResource(typeUrl, resource), label).not.toThrow();
          }
        }
      }
    });
  }
});
