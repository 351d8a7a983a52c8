// PeerAuthentication precedence as istiod's ComposePeerAuthentication and
// GetNamespaceMutualTLSMode resolve it, on snapshots built from YAML.
import { describe, expect, it } from "vitest";
import { snapshotFromYaml } from "../model/testing.ts";
import {
  mtlsModeForPort,
  namespaceMtlsMode,
  peerAuthenticationOf,
  peerAuthenticationsFor,
} from "./peer-authentication.ts";

interface Policy {
  name: string;
  namespace: string;
  selector?: Record<string, string>;
  mode?: string;
  ports?: Record<number, string | undefined>;
}

function policyYaml(p: Policy): string {
  const spec: Record<string, unknown> = {};
  if (p.selector) spec.selector = { matchLabels: p.selector };
  if (p.mode) spec.mtls = { mode: p.mode };
  if (p.ports) {
    spec.portLevelMtls = Object.fromEntries(
      Object.entries(p.ports).map(([port, mode]) => [port, mode ? { mode } : {}]),
    );
  }
  return JSON.stringify({
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name: p.name, namespace: p.namespace },
    spec,
  });
}

const snapshotOf = (...policies: Policy[]) =>
  snapshotFromYaml(policies.map(policyYaml).join("\n---\n") || "# empty\n", {
    workloadCertificates: true,
  });

const ORDER = { namespace: "shop", labels: { app: "order-service", version: "v1" } };

/** The mode of order-service's workload port. */
function modeOf(policies: Policy[], port = 8080, workload = ORDER): string {
  return mtlsModeForPort(peerAuthenticationOf(snapshotOf(...policies), workload), port);
}

const mesh = (mode?: string, name = "default"): Policy => ({
  name,
  namespace: "istio-system",
  ...(mode ? { mode } : {}),
});
const namespaced = (mode?: string, name = "default", namespace = "shop"): Policy => ({
  name,
  namespace,
  ...(mode ? { mode } : {}),
});
const workload = (
  mode: string | undefined,
  ports?: Record<number, string | undefined>,
  selector: Record<string, string> = { app: "order-service" },
  name = "order-service",
): Policy => ({
  name,
  namespace: "shop",
  selector,
  ...(mode ? { mode } : {}),
  ...(ports ? { ports } : {}),
});

describe("PeerAuthentication precedence", () => {
  it("is PERMISSIVE when nothing is configured", () => {
    expect(modeOf([])).toBe("PERMISSIVE");
  });

  it("takes the mesh-wide policy from the root namespace", () => {
    expect(modeOf([mesh("STRICT")])).toBe("STRICT");
    expect(modeOf([mesh("DISABLE")])).toBe("DISABLE");
  });

  it("lets the namespace policy override the mesh policy", () => {
    expect(modeOf([mesh("STRICT"), namespaced("PERMISSIVE")])).toBe("PERMISSIVE");
    expect(modeOf([mesh("PERMISSIVE"), namespaced("STRICT")])).toBe("STRICT");
  });

  it("lets a namespace policy in UNSET mode inherit the mesh policy", () => {
    expect(modeOf([mesh("STRICT"), namespaced("UNSET")])).toBe("STRICT");
    expect(modeOf([mesh("STRICT"), namespaced(undefined)])).toBe("STRICT");
  });

  it("lets the workload policy override namespace and mesh", () => {
    expect(modeOf([mesh("STRICT"), namespaced("STRICT"), workload("DISABLE")])).toBe("DISABLE");
  });

  it("lets a workload policy in UNSET mode inherit the namespace policy, then the mesh's", () => {
    expect(modeOf([mesh("PERMISSIVE"), namespaced("STRICT"), workload("UNSET")])).toBe("STRICT");
    expect(modeOf([mesh("STRICT"), workload(undefined)])).toBe("STRICT");
    expect(modeOf([workload("UNSET")])).toBe("PERMISSIVE");
  });

  it("applies a workload policy only when its selector matches the workload's labels", () => {
    const other = workload("DISABLE", undefined, { app: "payment-service" });
    expect(modeOf([namespaced("STRICT"), other])).toBe("STRICT");
    const subset = workload("DISABLE", undefined, { app: "order-service", version: "v1" });
    expect(modeOf([namespaced("STRICT"), subset])).toBe("DISABLE");
    const tooNarrow = workload("DISABLE", undefined, { app: "order-service", version: "v2" });
    expect(modeOf([namespaced("STRICT"), tooNarrow])).toBe("STRICT");
  });

  it("ignores policies of other namespaces, and selectors in the root namespace", () => {
    expect(modeOf([namespaced("DISABLE", "default", "billing")])).toBe("PERMISSIVE");
    const rootSelector: Policy = {
      name: "root-workload",
      namespace: "istio-system",
      selector: { app: "order-service" },
      mode: "DISABLE",
    };
    expect(modeOf([mesh("STRICT"), rootSelector])).toBe("STRICT");
  });

  it("keeps the oldest policy of each level (creation order)", () => {
    expect(modeOf([namespaced("STRICT", "a"), namespaced("DISABLE", "b")])).toBe("STRICT");
    expect(modeOf([mesh("DISABLE", "first"), mesh("STRICT", "second")])).toBe("DISABLE");
    const older = workload("STRICT", undefined, { app: "order-service" }, "older");
    const newer = workload("DISABLE", undefined, { version: "v1" }, "newer");
    expect(modeOf([older, newer])).toBe("STRICT");
  });

  it("overrides the mode per workload port with portLevelMtls", () => {
    const policies = [mesh("STRICT"), workload(undefined, { 8080: "PERMISSIVE", 9000: "DISABLE" })];
    expect(modeOf(policies, 8080)).toBe("PERMISSIVE");
    expect(modeOf(policies, 9000)).toBe("DISABLE");
    expect(modeOf(policies, 7070)).toBe("STRICT");
  });

  it("lets a port in UNSET mode inherit the workload's effective mode", () => {
    const policies = [namespaced("DISABLE"), workload("STRICT", { 8080: "UNSET" })];
    expect(modeOf(policies, 8080)).toBe("STRICT");
    const inherited = [namespaced("DISABLE"), workload(undefined, { 8080: undefined })];
    expect(modeOf(inherited, 8080)).toBe("DISABLE");
  });

  it("takes port-level modes only from the workload policy", () => {
    const merged = peerAuthenticationOf(
      snapshotOf(namespaced("STRICT"), workload(undefined, { 9000: "DISABLE" })),
      ORDER,
    );
    expect(merged.mode).toBe("STRICT");
    expect([...merged.perPort]).toEqual([[9000, "DISABLE"]]);
  });

  it("lists the namespace's policies before the root namespace's", () => {
    const snapshot = snapshotOf(mesh("STRICT"), namespaced("DISABLE"), workload("PERMISSIVE"));
    expect(peerAuthenticationsFor(snapshot, ORDER).map((p) => p.name)).toEqual([
      "default",
      "order-service",
      "default",
    ]);
    expect(peerAuthenticationsFor(snapshot, ORDER).map((p) => p.namespace)).toEqual([
      "shop",
      "shop",
      "istio-system",
    ]);
  });

  it("applies the root namespace's policy once to workloads in the root namespace", () => {
    const gateway = { namespace: "istio-system", labels: { istio: "ingressgateway" } };
    const snapshot = snapshotOf(mesh("STRICT"));
    expect(peerAuthenticationsFor(snapshot, gateway)).toHaveLength(1);
    expect(mtlsModeForPort(peerAuthenticationOf(snapshot, gateway), 8080)).toBe("STRICT");
  });
});

describe("namespace mTLS mode (the auto-mTLS hint)", () => {
  it("is unknown without namespace or mesh policy", () => {
    expect(namespaceMtlsMode(snapshotOf(), "shop")).toBeUndefined();
    expect(namespaceMtlsMode(snapshotOf(workload("DISABLE")), "shop")).toBeUndefined();
  });

  it("is the namespace's own mode, else the mesh's", () => {
    const snapshot = snapshotOf(mesh("STRICT"), namespaced("DISABLE", "default", "billing"));
    expect(namespaceMtlsMode(snapshot, "billing")).toBe("DISABLE");
    expect(namespaceMtlsMode(snapshot, "shop")).toBe("STRICT");
  });

  it("treats UNSET as the mesh mode, and a mesh policy in UNSET mode as PERMISSIVE", () => {
    expect(namespaceMtlsMode(snapshotOf(mesh("STRICT"), namespaced("UNSET")), "shop")).toBe(
      "STRICT",
    );
    expect(namespaceMtlsMode(snapshotOf(namespaced("UNSET")), "shop")).toBe("PERMISSIVE");
    expect(namespaceMtlsMode(snapshotOf(mesh(undefined)), "shop")).toBe("PERMISSIVE");
  });
});
