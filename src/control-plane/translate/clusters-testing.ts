// Test support for the cluster/endpoint translation: proxies, a small mesh in YAML, and the
// assertion that every produced resource encodes as its Envoy type.
import { expect } from "vitest";
import type { Json, JsonObject } from "../../xds/proto-json.ts";
import { encodeResource } from "../../xds/resource-codec.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import type { ProxyKind, ProxyNode } from "../model/proxy.ts";
import { type Locality, NO_LOCALITY } from "../model/workload.ts";

export function proxyNode(
  options: {
    namespace?: string;
    ip?: string;
    labels?: Record<string, string>;
    locality?: Locality;
    kind?: ProxyKind;
  } = {},
): ProxyNode {
  const namespace = options.namespace ?? "default";
  const ip = options.ip ?? "10.9.9.9";
  return {
    id: `sidecar~${ip}~client.${namespace}~${namespace}.svc.cluster.local`,
    kind: options.kind ?? "sidecar",
    ips: [ip],
    podName: "client",
    namespace,
    labels: options.labels ?? { app: "client" },
    serviceAccount: "default",
    clusterId: "Kubernetes",
    network: "",
    locality: options.locality ?? NO_LOCALITY,
    metadata: {},
  };
}

/** A pod (with sidecar, ready unless said otherwise) in YAML. */
export function podYaml(
  name: string,
  ip: string,
  options: { ns?: string; labels?: string; ready?: boolean; locality?: string } = {},
): string {
  const labels = [options.labels ?? "app: reviews"];
  if (options.locality) labels.push(`istio-locality: ${options.locality}`);
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${options.ns ?? "default"}
  labels: {${labels.join(", ")}}
  annotations: {sidecar.istio.io/status: '{"containers":["istio-proxy"]}'}
spec:
  containers:
  - name: app
    ports: [{name: http, containerPort: 9080}]
  - name: istio-proxy
status:
  podIP: ${ip}
  conditions: [{type: Ready, status: "${options.ready === false ? "False" : "True"}"}]
---
`;
}

/** Service `reviews` (http 9080, grpc 9090, unnamed 7000) in `default`. */
export const REVIEWS_SERVICE = `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports:
  - {name: http, port: 9080}
  - {name: grpc, port: 9090, targetPort: 9080}
  - {port: 7000, targetPort: 9080}
---
`;

export const REVIEWS = "reviews.default.svc.cluster.local";

export function destinationRuleYaml(spec: string, name = "reviews", namespace = "default"): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${namespace}}
spec:
${spec
  .trim()
  .split("\n")
  .map((l) => `  ${l}`)
  .join("\n")}
---
`;
}

/** Asserts every resource encodes as `typeUrl` (Cluster by default). */
export function expectEncodable(
  resources: Iterable<JsonObject>,
  typeUrl: string = TYPE_URL.cluster,
): void {
  for (const resource of resources) {
    expect(() => encodeResource(typeUrl, resource), String(resource.name ?? "")).not.toThrow();
  }
}

/** The object at `path` ("a.b[0].c") of a JSON value, for terse assertions. */
export function at(value: Json | undefined, path: string): Json | undefined {
  let current: Json | undefined = value;
  for (const part of path.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== "")) {
    if (current === null || typeof current !== "object") return undefined;
    current = Array.isArray(current) ? current[Number(part)] : current[part];
  }
  return current;
}
