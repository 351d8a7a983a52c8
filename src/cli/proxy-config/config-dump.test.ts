import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeConfigDump, istioConfigRef, withoutType } from "./config-dump.ts";

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8"));

describe("decodeConfigDump", () => {
  it("lists a real proxy's active clusters, listeners and route configurations", () => {
    const dump = decodeConfigDump(fixture("sleep-config-dump.json"), "test");
    expect(dump.clusters.map((c) => c.name)).toContain(
      "outbound|80||echo.default.svc.cluster.local",
    );
    expect(dump.listeners.map((l) => l.name)).toEqual([
      "0.0.0.0_5432",
      "0.0.0.0_80",
      "virtualInbound",
      "virtualOutbound",
    ]);
    expect(dump.routes.map((r) => r.name)).toEqual(["15001", "80"]);
    expect(dump.bootstrap?.node).toMatchObject({ cluster: "sleep.default" });
    expect(dump.secrets).toEqual({
      "@type": "type.googleapis.com/envoy.admin.v3.SecretsConfigDump",
    });
  });

  it("takes static resources after dynamic ones and leaves warming ones out", () => {
    const dump = decodeConfigDump(
      {
        configs: [
          {
            "@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
            static_clusters: [{ cluster: { name: "prometheus_stats" } }],
            dynamic_active_clusters: [{ cluster: { name: "outbound|80||a.b.svc.cluster.local" } }],
            dynamic_warming_clusters: [{ cluster: { name: "warming" } }],
          },
          {
            "@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
            dynamic_listeners: [
              { name: "warm", warming_state: { listener: { name: "warm" } } },
              { name: "bad", error_state: { details: "rejected" } },
            ],
            static_listeners: [{ listener: { name: "stats" } }],
          },
        ],
      },
      "test",
    );
    expect(dump.clusters.map((c) => c.name)).toEqual([
      "outbound|80||a.b.svc.cluster.local",
      "prometheus_stats",
    ]);
    expect(dump.listeners.map((l) => l.name)).toEqual(["stats"]);
    expect(dump.routes).toEqual([]);
  });

  it("refuses a body that is not a config dump, naming where it came from", () => {
    expect(() => decodeConfigDump({ status: "ok" }, "http://127.0.0.1:15000/config_dump")).toThrow(
      expect.objectContaining({
        code: "CREMA_RUNTIME_REQUEST_FAILED",
        message: expect.stringContaining("http://127.0.0.1:15000/config_dump"),
      }),
    );
    expect(() => decodeConfigDump("<html>", "x")).toThrow(/config dump/);
  });
});

describe("istioConfigRef", () => {
  const meta = (config: string) => ({ filter_metadata: { istio: { config } } });

  it("names the Istio resource as name.namespace, whatever the API version", () => {
    expect(
      istioConfigRef(meta("/apis/networking.istio.io/v1/namespaces/default/virtual-service/echo")),
    ).toBe("echo.default");
    expect(
      istioConfigRef(
        meta("/apis/networking.istio.io/v1alpha3/namespaces/shop/destination-rule/reviews"),
      ),
    ).toBe("reviews.shop");
  });

  it("is empty without Istio metadata and <unknown> for another kind of path", () => {
    expect(istioConfigRef(undefined)).toBe("");
    expect(istioConfigRef({ filter_metadata: { istio: { services: [] } } })).toBe("");
    expect(istioConfigRef(meta("something-else"))).toBe("<unknown>");
  });
});

describe("withoutType", () => {
  it("drops the Any's @type and keeps the message", () => {
    expect(withoutType({ "@type": "t", name: "x" })).toEqual({ name: "x" });
  });
});
