import { describe, expect, it } from "vitest";
import { loadResources } from "./load.ts";

const load = (text: string, defaultNamespace?: string) =>
  loadResources([{ path: "in.yaml", text }], defaultNamespace ? { defaultNamespace } : {});

describe("loadResources", () => {
  it("decodes identity, applies the default namespace, keeps cluster-scoped kinds namespace-less", () => {
    const { resources, diagnostics } = load(
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n---\n" +
        "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: r}\nspec: {host: r}\n",
      "shop",
    );
    expect(diagnostics).toEqual([]);
    expect(resources.map((r) => [r.kind, r.group, r.version, r.namespace, r.name])).toEqual([
      ["Namespace", "", "v1", "", "shop"],
      ["DestinationRule", "networking.istio.io", "v1beta1", "shop", "r"],
    ]);
    expect(resources[0]!.labels).toEqual({ "istio-injection": "enabled" });
    expect(resources[1]!.spec).toEqual({ host: "r" });
  });

  it("expands kind: List", () => {
    const { resources } = load(
      "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: a}\n",
    );
    expect(resources.map((r) => r.name)).toEqual(["a"]);
    expect(resources[0]!.source?.locate(["metadata", "name"])).toMatchObject({ line: 6 });
  });

  it.each([
    ["- a\n- b\n", "CREMA_CONFIG_NOT_OBJECT", 1],
    ["just a string\n", "CREMA_CONFIG_NOT_OBJECT", 1],
    ["metadata: {name: x}\n", "CREMA_CONFIG_MISSING_KIND", 1],
    [
      "apiVersion: networking.istio.io/v1\nkind: VirtualSrvice\nmetadata: {name: x}\n",
      "CREMA_CONFIG_UNKNOWN_KIND",
      2,
    ],
    [
      "apiVersion: networking.istio.io/v1\nkind: EnvoyFilter\nmetadata: {name: x}\n",
      "CREMA_CONFIG_UNSUPPORTED_VERSION",
      1,
    ],
    [
      "apiVersion: v1\nkind: Service\nmetadata: {namespace: x}\n",
      "CREMA_CONFIG_INVALID_METADATA",
      3,
    ],
    [
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: Bad_Name\n",
      "CREMA_CONFIG_INVALID_METADATA",
      4,
    ],
    [
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: ok\n  namespace: Not.A.Label\n",
      "CREMA_CONFIG_INVALID_METADATA",
      5,
    ],
    [
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: ok\n  labels:\n    app: 3\n",
      "CREMA_CONFIG_INVALID_METADATA",
      6,
    ],
    [
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: ok\n  labels:\n    -bad-: x\n",
      "CREMA_CONFIG_INVALID_METADATA",
      6,
    ],
  ])("rejects %j with %s at line %d", (text, code, line) => {
    const { resources, diagnostics } = load(text);
    expect(diagnostics).toMatchObject([{ code, position: { line } }]);
    if (code !== "CREMA_CONFIG_INVALID_METADATA" || line < 6) expect(resources).toEqual([]);
  });

  it("suggests the right apiVersion for a kind in the wrong group", () => {
    const { diagnostics } = load(
      "apiVersion: security.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\n",
    );
    expect(diagnostics[0]?.message).toContain("networking.istio.io/v1");
  });

  it("warns about a resource defined twice and keeps the later one", () => {
    const doc = (host: string) =>
      `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec: {host: ${host}}\n`;
    const { resources, diagnostics } = load(`${doc("a")}---\n${doc("b")}`);
    expect(resources.map((r) => r.spec.host)).toEqual(["b"]);
    expect(diagnostics).toMatchObject([
      { code: "CREMA_CONFIG_DUPLICATE_RESOURCE", severity: "warning", position: { line: 8 } },
    ]);
  });
});
