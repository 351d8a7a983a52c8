// Fixtures for the simulation tests: compact Kubernetes/Istio YAML builders, proxies as the
// xDS node would describe them, and translateProxy over a YAML snapshot.
import type { MeshConfig } from "../../src/control-plane/model/mesh-config.ts";
import { decodeProxyNode, type ProxyNode } from "../../src/control-plane/model/proxy.ts";
import { snapshotFromYaml } from "../../src/control-plane/model/testing.ts";
import type { TranslateMode } from "../../src/control-plane/translate/listener-common.ts";
import type { ProxyResources } from "../../src/control-plane/translate/proxy-resources.ts";
import { translateProxy } from "../../src/control-plane/translate/translate-proxy.ts";

export const FQDN = (name: string, namespace = "default") =>
  `${name}.${namespace}.svc.cluster.local`;

/** `outbound|port|subset|host` of a Kubernetes service (Istio's cluster name). */
export function outbound(name: string, port: number, subset = "", namespace = "default"): string {
  return `outbound|${port}|${subset}|${FQDN(name, namespace)}`;
}

export interface WorkloadOptions {
  namespace?: string;
  /** The Service's clusterIP. */
  vip: string;
  /** `name:port` (the name gives the protocol: http, tcp-…, tls-…) or a bare port (sniffed). */
  ports: readonly string[];
  /** One pod per entry: its IP and extra labels (e.g. {version: v1}). */
  pods?: ReadonlyArray<{ ip: string; labels?: Record<string, string> }>;
}

/** A Service `name` selecting `app: name`, and its ready pods. */
export function workload(name: string, o: WorkloadOptions): string {
  const namespace = o.namespace ?? "default";
  const ports = o.ports.map((p) => {
    const [portName, number] = p.includes(":") ? p.split(":") : [undefined, p];
    return portName ? { name: portName, port: Number(number) } : { port: Number(number) };
  });
  const docs = [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace },
      spec: { clusterIP: o.vip, selector: { app: name }, ports },
    },
    ...(o.pods ?? []).map((pod, i) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `${name}-${i + 1}`, namespace, labels: { app: name, ...pod.labels } },
      spec: {
        containers: [{ name: "app", ports: ports.map((p) => ({ containerPort: p.port })) }],
      },
      status: { podIP: pod.ip, conditions: [{ type: "Ready", status: "True" }] },
    })),
  ];
  return docs.map((d) => `${JSON.stringify(d)}\n---\n`).join("");
}

/** An Istio networking resource (JSON is YAML). */
export function istio(kind: string, name: string, spec: object, namespace = "default"): string {
  const doc = {
    apiVersion: "networking.istio.io/v1",
    kind,
    metadata: { name, namespace },
    spec,
  };
  return `${JSON.stringify(doc)}\n---\n`;
}

export function namespaces(...names: string[]): string {
  return names
    .map(
      (name) =>
        `${JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } })}\n---\n`,
    )
    .join("");
}

export interface ProxyOptions {
  namespace?: string;
  ip: string;
  labels?: Record<string, string>;
  metadata?: Record<string, string>;
}

function proxyNode(type: "sidecar" | "router", name: string, o: ProxyOptions): ProxyNode {
  const namespace = o.namespace ?? "default";
  const decoded = decodeProxyNode({
    id: `${type}~${o.ip}~${name}.${namespace}~${namespace}.svc.cluster.local`,
    metadata: {
      NAMESPACE: namespace,
      NAME: name,
      INSTANCE_IPS: o.ip,
      LABELS: o.labels ?? {},
      ...o.metadata,
    },
  });
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.proxy;
}

/** A sidecar proxy in pod `name` (labels `app: <name without -N>` unless given). */
export function sidecar(name: string, o: ProxyOptions): ProxyNode {
  return proxyNode("sidecar", name, {
    ...o,
    labels: o.labels ?? { app: name.replace(/-\d+$/, "") },
  });
}

/** An ingress gateway (labels `istio: ingressgateway` unless given) in istio-system. */
export function gateway(name: string, o: ProxyOptions): ProxyNode {
  return proxyNode("router", name, {
    namespace: "istio-system",
    ...o,
    labels: o.labels ?? { istio: "ingressgateway" },
  });
}

export interface TranslateFixtureOptions {
  meshConfig?: Partial<MeshConfig>;
  mode?: TranslateMode;
}

/** What `proxy` receives for the mesh described by `yaml`. */
export function resourcesFor(
  yaml: string,
  proxy: ProxyNode,
  options: TranslateFixtureOptions = {},
): ProxyResources {
  const snapshot = snapshotFromYaml(yaml, options.meshConfig);
  return translateProxy(snapshot, proxy, options.mode ? { mode: options.mode } : {});
}
