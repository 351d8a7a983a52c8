// The gateways of a local mesh: the manifests' own (pods labelled istio=ingressgateway or
// istio=egressgateway), or the ones `istioctl install` would create, added when missing — the
// ingress gateway always, the egress gateway once a Gateway selects it. Their Services map
// Gateway server ports to the ports the pods bind (80→8080, 443→8443); the runtime publishes
// the ingress gateway's on the host.

import { stringMap } from "../config/analysis/labels.ts";
import type { Resource } from "../config/resource.ts";
import { isObj, objects } from "../config/validation/rules.ts";

export type GatewayRole = "ingress" | "egress";

/** Where a built-in gateway's resources say they came from (in diagnostics and logs). */
export const builtInGatewaySource = (role: GatewayRole) => `<built-in ${role} gateway>`;

/**
 * What `istioctl install` deploys for a gateway, in the shape 20-gateway.yaml shows: pods
 * labelled `istio: <role>gateway` in istio-system, a Service mapping 80→8080 and 443→8443.
 */
export function builtInGatewayYaml(role: GatewayRole): string {
  const name = `istio-${role}gateway`;
  const labels = `{app: ${name}, istio: ${role}gateway}`;
  return `apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${name}, namespace: istio-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: istio-system, labels: ${labels}}
spec:
  replicas: 1
  selector: {matchLabels: ${labels}}
  template:
    metadata:
      annotations: {inject.istio.io/templates: gateway}
      labels: {app: ${name}, istio: ${role}gateway, sidecar.istio.io/inject: "true"}
    spec:
      serviceAccountName: ${name}
      containers:
        - name: istio-proxy
          image: auto
          ports:
            - {name: http2, containerPort: 8080}
            - {name: https, containerPort: 8443}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: istio-system, labels: ${labels}}
spec:
  type: ${role === "ingress" ? "LoadBalancer" : "ClusterIP"}
  selector: ${labels}
  ports:
    - {name: status-port, port: 15021, targetPort: 15021}
    - {name: http2, port: 80, targetPort: 8080}
    - {name: https, port: 443, targetPort: 8443}
`;
}

/** The `istio` label value of pods some Deployment runs. */
function deployedGatewayLabels(resources: readonly Resource[]): Set<string> {
  const out = new Set<string>();
  for (const r of resources) {
    if (r.kind !== "Deployment") continue;
    const template = isObj(r.spec.template) ? r.spec.template : {};
    const metadata = isObj(template.metadata) ? template.metadata : {};
    const istio = stringMap(metadata.labels).istio;
    if (istio) out.add(istio);
  }
  return out;
}

/**
 * The built-in gateways `resources` need: the ingress gateway unless they deploy their own, and
 * the egress gateway when a Gateway selects `istio: egressgateway` and nothing deploys one.
 */
export function missingGateways(resources: readonly Resource[]): GatewayRole[] {
  const deployed = deployedGatewayLabels(resources);
  const out: GatewayRole[] = [];
  if (!deployed.has("ingressgateway")) out.push("ingress");
  const egressSelected = resources.some(
    (r) =>
      r.kind === "Gateway" && isObj(r.spec.selector) && r.spec.selector.istio === "egressgateway",
  );
  if (egressSelected && !deployed.has("egressgateway")) out.push("egress");
  return out;
}

/**
 * Gateway server port → the port the gateway pods bind, from the Services selecting the ingress
 * or egress gateway, as istiod maps a Gateway's port to its Service's targetPort. Ports with no
 * Service mapping are bound as they are.
 */
export function ingressGatewayPorts(resources: readonly Resource[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const service of resources) {
    if (service.kind !== "Service") continue;
    const selector = isObj(service.spec.selector) ? service.spec.selector : {};
    if (selector.istio !== "ingressgateway" && selector.istio !== "egressgateway") continue;
    for (const [port] of objects(service.spec.ports)) {
      if (typeof port.port !== "number") continue;
      const target = typeof port.targetPort === "number" ? port.targetPort : port.port;
      out[port.port] ??= target;
    }
  }
  return out;
}
