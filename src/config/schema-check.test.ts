// Level 1 (schema) for the kinds that have no semantic validator of their own — Kubernetes
// kinds and IstioOperator — plus schema behaviour shared by every kind.
import { describe, it } from "vitest";
import { expectClean, invalidCases } from "./testing.ts";

describe("schema", () => {
  invalidCases([
    {
      name: "Service port is a string",
      yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: http\n",
      code: "CREMA_SCHEMA_TYPE",
      path: "spec.ports[0].port",
      line: 6,
      column: 11,
    },
    {
      name: "Service with a misspelt selector",
      yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selectr: {app: web}\n",
      code: "CREMA_SCHEMA_UNKNOWN_FIELD",
      path: "spec.selectr",
      line: 5,
      column: 3,
    },
    {
      name: "Service port without port number",
      yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - name: http\n",
      code: "CREMA_SCHEMA_REQUIRED",
      path: "spec.ports[0].port",
      line: 6,
      column: 5,
    },
    {
      name: "Deployment container ports is a map",
      yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    spec:\n      containers:\n      - name: app\n        ports: {containerPort: 80}\n",
      code: "CREMA_SCHEMA_TYPE",
      path: "spec.template.spec.containers[0].ports",
      line: 10,
      column: 16,
    },
    {
      name: "Deployment without selector",
      yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers: []\n",
      code: "CREMA_SCHEMA_REQUIRED",
      path: "spec.selector",
      line: 5,
      column: 3,
    },
    {
      name: "Deployment replicas is a string",
      yaml: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: "2"\n  selector: {matchLabels: {app: web}}\n  template: {}\n',
      code: "CREMA_SCHEMA_TYPE",
      path: "spec.replicas",
      line: 5,
      column: 13,
    },
    {
      name: "Pod container env value is a number",
      yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: app\n    env:\n    - name: PORT\n      value: 8080\n",
      code: "CREMA_SCHEMA_TYPE",
      path: "spec.containers[0].env[0].value",
      line: 9,
      column: 14,
    },
    {
      name: "ConfigMap data is a list",
      yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata:\n- a\n",
      code: "CREMA_SCHEMA_TYPE",
      path: "data",
      line: 5,
      column: 1,
    },
    {
      name: "Secret with an unknown top-level field",
      yaml: "apiVersion: v1\nkind: Secret\nmetadata: {name: tls}\ntype: kubernetes.io/tls\nstringdata: {a: b}\n",
      code: "CREMA_SCHEMA_UNKNOWN_FIELD",
      path: "stringdata",
      line: 5,
      column: 1,
    },
    {
      name: "Namespace labels in spec",
      yaml: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\nspec:\n  labels: {istio-injection: enabled}\n",
      code: "CREMA_SCHEMA_UNKNOWN_FIELD",
      path: "spec.labels",
      line: 5,
      column: 3,
    },
    {
      name: "EndpointSlice endpoints addresses is a string",
      yaml: "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1}\naddressType: IPv4\nendpoints:\n- addresses: 10.0.0.1\n",
      code: "CREMA_SCHEMA_TYPE",
      path: "endpoints[0].addresses",
      line: 6,
      column: 14,
    },
    {
      name: "ServiceAccount with spec",
      yaml: "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\nspec: {}\n",
      code: "CREMA_SCHEMA_UNKNOWN_FIELD",
      path: "spec",
      line: 4,
      column: 1,
    },
    {
      name: "IstioOperator with spec misspelt",
      yaml: "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata: {name: demo}\nspecs:\n  profile: demo\n",
      code: "CREMA_SCHEMA_UNKNOWN_FIELD",
      path: "specs",
      line: 4,
      column: 1,
    },
    {
      name: "enum value in the wrong case",
      yaml: "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default}\nspec:\n  mtls:\n    mode: strict\n",
      code: "CREMA_SCHEMA_ENUM",
      path: "spec.mtls.mode",
      line: 6,
      column: 11,
    },
    {
      name: "field at the wrong level",
      yaml: "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n  host: r\n  loadBalancer: {simple: RANDOM}\n",
      code: "CREMA_SCHEMA_UNKNOWN_FIELD",
      path: "spec.loadBalancer",
      line: 6,
      column: 3,
    },
  ]);
});

describe("schema of free-form fields", () => {
  it("accepts anything under IstioOperator spec (preserve-unknown-fields)", () => {
    expectClean(
      "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata: {name: demo}\nspec:\n  profile: demo\n  meshConfig: {accessLogFile: /dev/stdout, anything: [1, 2]}\n",
    );
  });
});
