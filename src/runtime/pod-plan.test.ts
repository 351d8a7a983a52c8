import { describe, expect, it } from "vitest";
import { validateSources } from "../config/validate.ts";
import { builtInGatewayYaml, ingressGatewayPorts, missingGateways } from "./built-in-gateways.ts";
import { planPods } from "./pod-plan.ts";

const plan = (yaml: string) =>
  planPods(validateSources([{ path: "apps/deploy.yaml", text: yaml }]).resources);

const deployment = (
  name: string,
  namespace: string,
  extra = "",
  container = "",
) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}${extra}}
    spec:
      serviceAccountName: ${name}
      containers:
        - name: main
${
  container ||
  `          command: ["node", "server.ts"]
          args: ["--verbose"]
          ports: [{name: http, containerPort: 8080}]
          env:
            - {name: MODE, value: fast}
            - name: MY_POD
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
          readinessProbe: {httpGet: {path: /ready, port: http}}`
}
`;

const NAMESPACES = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: plain}
---
`;

describe("planPods", () => {
  it("plans one pod per replica with the container's command line, env, ports and probe", () => {
    const { pods, diagnostics } = plan(NAMESPACES + deployment("orders", "shop"));
    expect(diagnostics).toEqual([]);
    expect(pods).toHaveLength(2);
    const [first, second] = pods;
    expect(first!.name).toMatch(/^orders-[a-z0-9]{10}-[a-z0-9]{5}$/);
    expect(second!.name).not.toBe(first!.name);
    expect(first!.labels["pod-template-hash"]).toBe(first!.templateHash);
    expect(first!.serviceAccount).toBe("orders");
    expect(first!.workingDir).toBe("apps");
    expect(first!.containers[0]).toEqual({
      name: "main",
      argv: ["node", "server.ts", "--verbose"],
      env: [
        { name: "MODE", value: "fast" },
        { name: "MY_POD", fieldRef: "metadata.name" },
      ],
      ports: [{ name: "http", containerPort: 8080 }],
      readinessProbe: { path: "/ready", port: 8080 },
    });
  });

  it("keeps pod names for an unchanged template and replaces them when it changes", () => {
    const before = plan(NAMESPACES + deployment("orders", "shop")).pods.map((p) => p.name);
    expect(plan(NAMESPACES + deployment("orders", "shop")).pods.map((p) => p.name)).toEqual(before);
    const changed = plan(NAMESPACES + deployment("orders", "shop", ", annotations: {a: b}"));
    expect(changed.pods.map((p) => p.name).some((n) => before.includes(n))).toBe(false);
  });

  it("injects a sidecar where Istio's webhook would", () => {
    const sidecar = (yaml: string) => plan(NAMESPACES + yaml).pods[0]!.sidecar;
    expect(sidecar(deployment("a", "shop"))).toBe(true);
    expect(sidecar(deployment("a", "plain"))).toBe(false);
    expect(
      sidecar(deployment("a", "shop", ", annotations: {sidecar.istio.io/inject: 'false'}")),
    ).toBe(false);
    expect(
      sidecar(
        deployment("a", "plain").replace(
          "{labels: {app: a}",
          "{labels: {app: a, sidecar.istio.io/inject: 'true'}",
        ),
      ),
    ).toBe(true);
  });

  it("runs a gateway-template pod as the proxy alone", () => {
    const { pods, diagnostics } = plan(builtInGatewayYaml("ingress"));
    expect(diagnostics).toEqual([]);
    expect(pods[0]).toMatchObject({
      gateway: true,
      sidecar: true,
      containers: [],
      namespace: "istio-system",
    });
  });

  it("refuses a container without a command, naming the file, line and field", () => {
    const { pods, diagnostics } = plan(
      NAMESPACES + deployment("orders", "shop", "", "          image: orders:1.0"),
    );
    expect(pods).toEqual([]);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      code: "CREMA_RUNTIME_UNSUPPORTED_MANIFEST",
      path: "spec.template.spec.containers[0].command",
      position: { file: "apps/deploy.yaml" },
    });
    expect(diagnostics[0]!.message).toContain("ignores 'image'");
  });

  it("gives sidecars one thread unless proxy.istio.io/config sets concurrency", () => {
    const annotated = (config: string) =>
      plan(
        NAMESPACES +
          deployment("orders", "shop", `, annotations: {proxy.istio.io/config: '${config}'}`),
      );
    expect(plan(NAMESPACES + deployment("orders", "shop")).pods[0]!.proxyConcurrency).toBe(1);
    expect(annotated('{"concurrency": 2}').pods[0]!.proxyConcurrency).toBe(2);
    expect(annotated("concurrency: 0").pods[0]!.proxyConcurrency).toBe(0);
    expect(annotated("holdApplicationUntilProxyStarts: true").pods[0]!.proxyConcurrency).toBe(1);
    const { pods, diagnostics } = annotated("concurrency: two");
    expect(pods).toEqual([]);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      code: "CREMA_RUNTIME_UNSUPPORTED_MANIFEST",
      path: `spec.template.metadata.annotations["proxy.istio.io/config"]`,
    });
    expect(diagnostics[0]!.message).toContain("concurrency must be a whole number of threads");
  });
});

describe("bare Pods", () => {
  it("are refused unless they name their address (then they are registry data)", () => {
    const pod = (status = "") => `apiVersion: v1
kind: Pod
metadata: {name: lone, namespace: default}
spec: {containers: [{name: main, image: x}]}
${status}`;
    const refused = plan(pod()).diagnostics;
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ code: "CREMA_RUNTIME_UNSUPPORTED_MANIFEST", path: "kind" });
    expect(refused[0]!.message).toContain("not bare Pods");
    expect(plan(pod("status: {podIP: 10.0.0.9}")).diagnostics).toEqual([]);
  });
});

describe("the built-in gateways", () => {
  const load = (yaml: string) => validateSources([{ path: "x", text: yaml }]).resources;
  const EGRESS_GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: egress, namespace: istio-system}
spec:
  selector: {istio: egressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`;

  it("adds the ingress gateway unless deployed, and the egress gateway once a Gateway selects it", () => {
    expect(missingGateways([])).toEqual(["ingress"]);
    expect(missingGateways(load(builtInGatewayYaml("ingress")))).toEqual([]);
    expect(missingGateways(load(EGRESS_GATEWAY))).toEqual(["ingress", "egress"]);
    expect(missingGateways(load(`${EGRESS_GATEWAY}---\n${builtInGatewayYaml("egress")}`))).toEqual([
      "ingress",
    ]);
  });

  it("maps Gateway server ports to the gateway Service's target ports", () => {
    expect(ingressGatewayPorts(load(builtInGatewayYaml("ingress")))).toEqual({
      80: 8080,
      443: 8443,
      15021: 15021,
    });
  });
});
