// The proxy asking for config: what istiod reads from the xDS Node (id and Istio metadata).
import { parseNodeId, splitPodId } from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { type Locality, NO_LOCALITY } from "./workload.ts";

/** The stats filter's extension name, as Istio's proxy lists it in node.extensions. */
const ISTIO_STATS = "istio.stats";

export type ProxyKind = "sidecar" | "router" | "proxyless";

export interface ProxyNode {
  /** The xDS node id as sent. */
  id: string;
  kind: ProxyKind;
  /** IPs of the workload (INSTANCE_IPS, else the IP in the node id). */
  ips: readonly string[];
  podName: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  serviceAccount: string;
  clusterId: string;
  network: string;
  locality: Locality;
  /** Raw Istio node metadata (ISTIO_META_* / node.metadata). */
  metadata: Readonly<Record<string, unknown>>;
  /**
   * false for an upstream Envoy build without Istio's extensions (user_agent_name "envoy" and no
   * istio.stats among node.extensions, which Envoy fills with what it was built with): istiod's
   * own filter types (istio.stats, istio.metadata_exchange) would make it reject whole listeners
   * and clusters, so they are left out, and so is the exchange's ALPN, which would have servers
   * send it frames it cannot read. Absent: crema's proxy, Istio's proxy, or a client that does
   * not say.
   */
  istioExtensions?: false;
}

export type ProxyNodeResult = { ok: true; proxy: ProxyNode } | { ok: false; reason: string };

function stringOf(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function labelsOf(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
}

/**
 * Reads Istio's node conventions: id `type~ip~pod.ns~ns.svc.cluster.local` for Envoy-style proxies,
 * or metadata GENERATOR "grpc" / ids starting `grpc~` for proxyless gRPC clients; metadata keys
 * NAMESPACE, LABELS, SERVICE_ACCOUNT, INSTANCE_IPS, CLUSTER_ID, NETWORK, NAME.
 */
export function decodeProxyNode(node: JsonObject | undefined): ProxyNodeResult {
  const id = stringOf(node?.id);
  if (!id) return { ok: false, reason: "the xDS node has no id" };
  const metadata = (
    typeof node?.metadata === "object" && node.metadata !== null ? node.metadata : {}
  ) as Record<string, unknown>;
  const locality = node?.locality as Record<string, unknown> | undefined;
  const proxyless = stringOf(metadata.GENERATOR) === "grpc" || id.startsWith("grpc~");
  const parsed = parseNodeId(proxyless ? id.replace(/^grpc~/, "sidecar~") : id);
  if (!parsed && !proxyless) {
    return {
      ok: false,
      reason: `node id ${JSON.stringify(id)} is not of the form sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local`,
    };
  }
  const pod = parsed ? splitPodId(parsed.id) : { name: "", namespace: "" };
  const ips = stringOf(metadata.INSTANCE_IPS).split(",").filter(Boolean);
  const extensions = Array.isArray(node?.extensions) ? node.extensions : [];
  const istioExtensions =
    stringOf(node?.user_agent_name) !== "envoy" ||
    extensions.some(
      (e) => typeof e === "object" && e !== null && "name" in e && e.name === ISTIO_STATS,
    );
  return {
    ok: true,
    proxy: {
      id,
      kind: proxyless ? "proxyless" : (parsed?.type ?? "sidecar"),
      ips: ips.length ? ips : parsed ? [parsed.ip] : [],
      podName: stringOf(metadata.NAME) || pod.name,
      namespace: stringOf(metadata.NAMESPACE) || pod.namespace || "default",
      labels: labelsOf(metadata.LABELS),
      serviceAccount: stringOf(metadata.SERVICE_ACCOUNT) || "default",
      clusterId: stringOf(metadata.CLUSTER_ID) || "Kubernetes",
      network: stringOf(metadata.NETWORK),
      locality: locality
        ? {
            region: stringOf(locality.region),
            zone: stringOf(locality.zone),
            subzone: stringOf(locality.sub_zone),
          }
        : NO_LOCALITY,
      metadata,
      ...(istioExtensions ? {} : { istioExtensions: false as const }),
    },
  };
}
