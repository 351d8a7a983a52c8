import { describe, expect, it } from "vitest";
import { kubernetesHostname, resolveHostname } from "./hosts.ts";
import { snapshotFromYaml } from "./testing.ts";

describe("resolveHostname (Istio's ResolveShortnameToFQDN)", () => {
  it.each([
    ["reviews", "reviews.default.svc.cluster.local"],
    ["Reviews", "reviews.default.svc.cluster.local"],
    // Istio expands only names without a dot: `name.namespace` is taken as written.
    ["reviews.other", "reviews.other"],
    ["reviews.other.svc.cluster.local", "reviews.other.svc.cluster.local"],
    ["api.example.com", "api.example.com"],
    ["*.example.com", "*.example.com"],
    ["*", "*"],
    ["10.0.0.1", "10.0.0.1"],
    ["::1", "::1"],
  ])("%s → %s", (host, fqdn) => {
    expect(resolveHostname(host, "default", "cluster.local")).toBe(fqdn);
  });

  it("uses the mesh's domain suffix", () => {
    expect(kubernetesHostname("a", "b", "corp.internal")).toBe("a.b.svc.corp.internal");
    const snapshot = snapshotFromYaml("", { domainSuffix: "corp.internal" });
    expect(snapshot.resolveHost("reviews", "shop")).toBe("reviews.shop.svc.corp.internal");
  });

  it("resolves in the namespace given, not the service's", () => {
    const snapshot = snapshotFromYaml(`
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: other}
spec: {ports: [{name: http, port: 80}]}
`);
    expect(snapshot.resolveHost("reviews", "default")).toBe("reviews.default.svc.cluster.local");
    expect(snapshot.resolveHost("reviews", "other")).toBe("reviews.other.svc.cluster.local");
  });
});
