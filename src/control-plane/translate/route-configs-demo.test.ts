import { describe, expect, it } from "vitest";
import { readSources } from "../../config/source-file.ts";
import { validateSources } from "../../config/validate.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { buildSnapshot } from "../model/build-snapshot.ts";
import { buildLocalOutboundRouteConfig, buildSidecarRouteConfigs } from "./route-configs.ts";
import { expectEncodes, testProxy } from "./route-testing.ts";
import type { Obj } from "./route-values.ts";
import { buildGatewayRouteConfigs } from "./routes-gateway.ts";

const DEMO = new URL("../../../examples/coffee-shop", import.meta.url).pathname;

describe("the coffee-shop demo's route configurations", async () => {
  const { files } = await readSources([DEMO], async () => "", { recursive: false });
  const snapshot = buildSnapshot(validateSources(files).resources);

  it("every service's sidecar and 15001 configurations encode", () => {
    const selected = snapshot.services.filter((s) => s.selector);
    expect(selected.length).toBeGreaterThan(3);
    for (const service of selected) {
      const proxy = testProxy({ namespace: service.namespace, labels: service.selector ?? {} });
      for (const config of buildSidecarRouteConfigs(snapshot, proxy).values())
        expectEncodes(config);
      expectEncodes(buildLocalOutboundRouteConfig(snapshot, proxy));
    }
  });

  it("the ingress gateway routes coffee.example.com on http.80 and the HTTPS server", () => {
    const gateway = testProxy({
      kind: "router",
      namespace: "istio-system",
      labels: { app: "istio-ingressgateway", istio: "ingressgateway" },
    });
    const configs = buildGatewayRouteConfigs(snapshot, gateway);
    expect([...configs.keys()]).toEqual(["http.80", "https.443.https.coffee-gateway.istio-system"]);
    for (const config of configs.values()) {
      expectEncodes(config);
      const [vhost] = config.virtual_hosts as JsonObject[];
      // Port 80 also serves "*" (a browser at the gateway's address); HTTPS only the name.
      expect(vhost!.domains).toEqual(
        config.name === "http.80" ? ["*", "coffee.example.com"] : ["coffee.example.com"],
      );
      expect((vhost!.routes as Obj[]).length).toBeGreaterThan(0);
    }
  });
});
