// The ingress gateway every local mesh has: the manifests' own (pods labelled
// istio=ingressgateway), or the one `istioctl install` would create, added when they have none.
// Its Service maps Gateway server ports to the ports the gateway pod binds (80→8080, 443→8443),
// and the runtime publishes those on the host.
import type { Resource } from "../config/resource.ts";
import { isObj, objects } from "../config/validation/rules.ts";

export const BUILT_IN_INGRESS_SOURCE = "<built-in ingress gateway>";

/** What `istioctl install` deploys for the ingress gateway, in the shape 20-gateway.yaml shows. */
export const BUILT_IN_INGRESS_YAML = `apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: istio-ingressgateway, namespace: istio-system}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istio-ingressgateway
  namespace: istio-system
  labels: {app: istio-ingressgateway, istio: ingressgateway}
spec:
  replicas: 1
  selector:
    matchLabels: {app: istio-ingressgateway, istio: ingressgateway}
  template:
    metadata:
      annotations: {inject.istio.io/templates: gateway}
      labels: {app: istio-ingressgateway, istio: ingressgateway, sidecar.istio.io/inject: "true"}
    spec:
      serviceAccountName: istio-ingressgateway
      containers:
        - name: istio-proxy
          image: auto
          ports:
            - {name: http2, containerPort: 8080}
            - {name: https, containerPort: 8443}
---
apiVersion: v1
kind: Service
metadata:
  name: istio-ingressgateway
  namespace: istio-system
  labels: {app: istio-ingressgateway, istio: ingressgateway}
spec:
  type: LoadBalancer
  selector: {app: istio-ingressgateway, istio: ingressgateway}
  ports:
    - {name: status-port, port: 15021, targetPort: 15021}
    - {name: http2, port: 80, targetPort: 8080}
    - {name: https, port: 443, targetPort: 8443}
`;

/**
 * Gateway server port → the port the gateway pod binds, from the Services selecting the
 * ingress gateway (`istio: ingressgateway`), as istiod maps a Gateway's port to its Service's
 * targetPort. Ports of 1024 and above with no Service mapping are bound as they are.
 */
export function ingressGatewayPorts(resources: readonly Resource[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const service of resources) {
    if (service.kind !== "Service") continue;
    const selector = isObj(service.spec.selector) ? service.spec.selector : {};
    if (selector.istio !== "ingressgateway") continue;
    for (const [port] of objects(service.spec.ports)) {
      if (typeof port.port !== "number") continue;
      const target = typeof port.targetPort === "number" ? port.targetPort : port.port;
      out[port.port] ??= target;
    }
  }
  return out;
}
