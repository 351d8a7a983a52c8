import { describe, expect, it } from "vitest";
import {
  buildClusterName,
  buildListenerName,
  buildNodeId,
  parseClusterName,
  parseListenerName,
  parseNodeId,
  serviceFqdn,
  spiffeId,
  splitPodId,
} from "./istio-names.ts";

describe("Istio names", () => {
  it("builds and parses cluster names", () => {
    const name = buildClusterName({
      direction: "outbound",
      port: 9080,
      subset: "v1",
      host: "reviews.default.svc.cluster.local",
    });
    expect(name).toBe("outbound|9080|v1|reviews.default.svc.cluster.local");
    expect(parseClusterName(name)).toEqual({
      direction: "outbound",
      port: 9080,
      subset: "v1",
      host: "reviews.default.svc.cluster.local",
    });
    expect(parseClusterName("inbound|8080||")).toEqual({
      direction: "inbound",
      port: 8080,
      subset: "",
      host: "",
    });
    expect(parseClusterName("BlackHoleCluster")).toBeUndefined();
    expect(parseClusterName("sideways|1||h")).toBeUndefined();
  });

  it("builds and parses node ids", () => {
    const id = buildNodeId({
      type: "sidecar",
      ip: "10.0.0.1",
      id: "reviews-v1-abc.default",
      domain: "default.svc.cluster.local",
    });
    expect(id).toBe("sidecar~10.0.0.1~reviews-v1-abc.default~default.svc.cluster.local");
    expect(parseNodeId(id)).toEqual({
      type: "sidecar",
      ip: "10.0.0.1",
      id: "reviews-v1-abc.default",
      domain: "default.svc.cluster.local",
    });
    expect(parseNodeId("grpc~x")).toBeUndefined();
    expect(splitPodId("reviews-v1-abc.default")).toEqual({
      name: "reviews-v1-abc",
      namespace: "default",
    });
  });

  it("builds listener names, FQDNs and SPIFFE ids", () => {
    expect(buildListenerName("0.0.0.0", 9080)).toBe("0.0.0.0_9080");
    expect(parseListenerName("10.0.0.5_443")).toEqual({ address: "10.0.0.5", port: 443 });
    expect(parseListenerName("virtualOutbound")).toBeUndefined();
    expect(serviceFqdn("reviews", "shop")).toBe("reviews.shop.svc.cluster.local");
    expect(spiffeId("cluster.local", "shop", "web")).toBe("spiffe://cluster.local/ns/shop/sa/web");
  });
});
