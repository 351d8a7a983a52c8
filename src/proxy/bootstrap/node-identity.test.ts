import { describe, expect, it } from "vitest";
import { CremaError } from "../../base/errors.ts";
import { messageType } from "../../xds/envoy-protos.ts";
import { decodeJson, encodeJson } from "../../xds/proto-json.ts";
import { buildProxyNode, deriveWorkloadName, type ProxyNodeInput } from "./node-identity.ts";

const POD_ENV = {
  POD_NAME: "reviews-v1-7c9f4d6b8d-x2kqz",
  POD_NAMESPACE: "bookinfo",
  INSTANCE_IP: "10.0.0.7",
  SERVICE_ACCOUNT: "bookinfo-reviews",
};

function failure(input: ProxyNodeInput): CremaError {
  try {
    buildProxyNode(input);
  } catch (error) {
    if (error instanceof CremaError) return error;
    throw error;
  }
  throw new Error("buildProxyNode accepted the input");
}

describe("buildProxyNode", () => {
  it("builds pilot-agent's node from the pod environment", () => {
    const built = buildProxyNode({
      env: {
        ...POD_ENV,
        ISTIO_METAJSON_LABELS: JSON.stringify({
          app: "reviews",
          version: "v1",
          "pod-template-hash": "7c9f4d6b8d",
        }),
        ISTIO_META_NETWORK: "net-1",
        ISTIO_META_DNS_CAPTURE: "true",
        ISTIO_METAJSON_PLATFORM_METADATA: '{"gcp_project":"p"}',
        PATH: "/usr/bin",
      },
      version: "0.1.0",
    });
    expect(built.id).toBe(
      "sidecar~10.0.0.7~reviews-v1-7c9f4d6b8d-x2kqz.bookinfo~bookinfo.svc.cluster.local",
    );
    expect(built.node).toEqual({
      id: built.id,
      cluster: "reviews.bookinfo",
      user_agent_name: "crema",
      user_agent_version: "0.1.0",
      metadata: {
        NETWORK: "net-1",
        DNS_CAPTURE: "true",
        PLATFORM_METADATA: { gcp_project: "p" },
        NAME: "reviews-v1-7c9f4d6b8d-x2kqz",
        NAMESPACE: "bookinfo",
        INSTANCE_IPS: "10.0.0.7",
        LABELS: { app: "reviews", version: "v1" },
        SERVICE_ACCOUNT: "bookinfo-reviews",
        CLUSTER_ID: "Kubernetes",
        MESH_ID: "cluster.local",
        WORKLOAD_NAME: "reviews-v1",
        ISTIO_VERSION: "0.1.0",
      },
      locality: {},
    });
  });

  it("lets flags override the environment, labels per key", () => {
    const built = buildProxyNode({
      env: { ...POD_ENV, ISTIO_METAJSON_LABELS: '{"app":"reviews","version":"v1"}' },
      flags: {
        type: "router",
        podName: "gw-0",
        namespace: "istio-system",
        ip: "127.0.0.9",
        serviceAccount: "gw",
        labels: ["version=v2", "istio=ingressgateway"],
        meta: ["CLUSTER_ID=east", "MESH_ID=mesh1", "WORKLOAD_NAME=gateway"],
        appAddress: "127.0.0.10",
        localRuntime: true,
      },
    });
    expect(built.id).toBe("router~127.0.0.9~gw-0.istio-system~istio-system.svc.cluster.local");
    expect(built.node.cluster).toBe("reviews.istio-system");
    expect(built.node.metadata).toMatchObject({
      NAME: "gw-0",
      SERVICE_ACCOUNT: "gw",
      LABELS: { app: "reviews", version: "v2", istio: "ingressgateway" },
      CLUSTER_ID: "east",
      MESH_ID: "mesh1",
      WORKLOAD_NAME: "gateway",
      CREMA_APP_ADDRESS: "127.0.0.10",
      CREMA_LOCAL_RUNTIME: "true",
    });
    expect(built.node).not.toHaveProperty("user_agent_version");
    expect(built.node.metadata).not.toHaveProperty("ISTIO_VERSION");
  });

  it("names the cluster after the workload when there is no app label", () => {
    const built = buildProxyNode({ env: POD_ENV });
    expect(built.node.cluster).toBe("reviews-v1.bookinfo");
    expect(built.serviceAccount).toBe("bookinfo-reviews");
    expect(buildProxyNode({ env: { ...POD_ENV, SERVICE_ACCOUNT: "" } }).serviceAccount).toBe(
      "default",
    );
  });

  it("reads the locality from the topology labels, or from istio-locality", () => {
    const topology = buildProxyNode({
      env: POD_ENV,
      flags: {
        labels: [
          "topology.kubernetes.io/region=us-east1",
          "topology.kubernetes.io/zone=us-east1-b",
          "topology.istio.io/subzone=rack-4",
        ],
      },
    });
    expect(topology.node.locality).toEqual({
      region: "us-east1",
      zone: "us-east1-b",
      sub_zone: "rack-4",
    });
    const explicit = buildProxyNode({
      env: POD_ENV,
      flags: { labels: ["istio-locality=eu.eu-1a", "topology.kubernetes.io/region=us"] },
    });
    expect(explicit.node.locality).toEqual({ region: "eu", zone: "eu-1a" });
  });

  it("is a valid envoy.config.core.v3.Node", () => {
    const type = messageType("envoy.config.core.v3.Node");
    const { node } = buildProxyNode({
      env: POD_ENV,
      flags: { labels: ["topology.istio.io/subzone=r1"] },
      version: "0.1.0",
    });
    expect(decodeJson(type, encodeJson(type, node))).toEqual(node);
  });

  it.each<[string, ProxyNodeInput, RegExp]>([
    [
      "no pod name",
      { env: { ...POD_ENV, POD_NAME: " " } },
      /--pod-name \(or POD_NAME\) is required/,
    ],
    [
      "no namespace",
      { env: { ...POD_ENV, POD_NAMESPACE: undefined } },
      /--namespace \(or POD_NAMESPACE\)/,
    ],
    [
      "no IP",
      { env: { ...POD_ENV, INSTANCE_IP: undefined } },
      /--ip \(or INSTANCE_IP\) is required/,
    ],
    [
      "an IP that is not one",
      { env: POD_ENV, flags: { ip: "10.0.0" } },
      /pod IP '10.0.0' is not an IP/,
    ],
    ["a namespace with a dot", { env: POD_ENV, flags: { namespace: "a.b" } }, /namespace 'a.b'/],
    ["a pod name with '~'", { env: POD_ENV, flags: { podName: "a~b" } }, /pod name 'a~b'/],
    [
      "a label without '='",
      { env: POD_ENV, flags: { labels: ["app"] } },
      /--label: 'app' is not key=value/,
    ],
    ["a bad label key", { env: POD_ENV, flags: { labels: ["-x=1"] } }, /--label: label key "-x"/],
    [
      "a bad label value",
      { env: POD_ENV, flags: { labels: ["x=a b"] } },
      /--label: label value "a b"/,
    ],
    [
      "metadata without '='",
      { env: POD_ENV, flags: { meta: ["=x"] } },
      /--meta: '=x' is not key=value/,
    ],
    [
      "an unknown type",
      { env: POD_ENV, flags: { type: "gateway" } },
      /--type must be sidecar or router, got 'gateway'/,
    ],
    [
      "an app address that is no IP",
      { env: POD_ENV, flags: { appAddress: "app" } },
      /--app-address 'app'/,
    ],
    [
      "labels that are not JSON",
      { env: { ...POD_ENV, ISTIO_METAJSON_LABELS: "{app" } },
      /ISTIO_METAJSON_LABELS is not JSON/,
    ],
    [
      "labels that are not strings",
      { env: { ...POD_ENV, ISTIO_METAJSON_LABELS: '{"a":1}' } },
      /label "a" is not a string/,
    ],
  ])("rejects %s", (_name, input, message) => {
    const error = failure(input);
    expect(error.code).toBe("CREMA_PROXY_INVALID_FLAG");
    expect(error.message).toMatch(message);
  });
});

describe("deriveWorkloadName", () => {
  it.each([
    ["reviews-v1-7c9f4d6b8d-x2kqz", {}, "reviews-v1"],
    ["productpage-v1-5b8f4d9c6-mpq7w", {}, "productpage-v1"],
    ["web-abc12-xyz", { "pod-template-hash": "abc12" }, "web"],
    ["ratings-0", {}, "ratings-0"],
    ["sleep", {}, "sleep"],
    ["reviews-v1-7c9f4d6b8d-x2kqz", { "service.istio.io/workload-name": "reviews" }, "reviews"],
  ])("%s %j → %s", (pod, labels, expected) => {
    expect(deriveWorkloadName(pod, labels)).toBe(expected);
  });
});
