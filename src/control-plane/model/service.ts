// Services in the registry: Kubernetes Services and ServiceEntry hosts in one shape, with
// Istio's protocol selection from port names and appProtocol.

/** Istio's protocol names (`protocol.Instance`). UNSUPPORTED means "detect" (sniffed as TCP/HTTP). */
export type Protocol =
  | "HTTP"
  | "HTTP2"
  | "HTTP_PROXY"
  | "GRPC"
  | "GRPC-Web"
  | "HTTPS"
  | "TLS"
  | "TCP"
  | "UDP"
  | "MONGO"
  | "REDIS"
  | "MYSQL"
  | "UNSUPPORTED";

export interface ServicePort {
  /** Port name ("http-web"); ServiceEntry ports always have one, Kubernetes ports may not. */
  name: string;
  port: number;
  /** Kubernetes targetPort (number, or a container port name), or ServiceEntry targetPort. */
  targetPort?: number | string;
  protocol: Protocol;
}

export type Resolution = "STATIC" | "DNS" | "DNS_ROUND_ROBIN" | "NONE";

export interface Service {
  /** Fully qualified host: `reviews.default.svc.cluster.local` or a ServiceEntry host. */
  hostname: string;
  namespace: string;
  /** Kubernetes Service name, or the ServiceEntry's name. */
  name: string;
  kind: "Service" | "ServiceEntry";
  /** Virtual IPs (ClusterIP, ServiceEntry addresses). */
  addresses: readonly string[];
  ports: readonly ServicePort[];
  /** Kubernetes services are STATIC in Istio's sense (endpoints from the registry). */
  resolution: Resolution;
  location: "MESH_INTERNAL" | "MESH_EXTERNAL";
  /** Namespaces that may see it: ["*"] (default), ["."] resolved to its namespace, names, or ["~"]. */
  exportTo: readonly string[];
  labels: Readonly<Record<string, string>>;
  /** Kubernetes Service selector / ServiceEntry workloadSelector labels; undefined when none. */
  selector?: Readonly<Record<string, string>>;
}

/** Istio's protocol selection: appProtocol first, then the port name's prefix before '-'. */
export function protocolOf(port: {
  name?: string;
  appProtocol?: string;
  protocol?: string;
}): Protocol {
  const fromName = (value: string | undefined): Protocol | undefined => {
    if (!value) return undefined;
    const prefix = value.toLowerCase().split("-")[0]!;
    switch (prefix) {
      case "http":
        return "HTTP";
      case "http2":
      case "h2c":
        return "HTTP2";
      case "grpc":
        return "GRPC";
      case "grpc-web":
        return "GRPC-Web";
      case "https":
        return "HTTPS";
      case "tls":
        return "TLS";
      case "tcp":
        return "TCP";
      case "udp":
        return "UDP";
      case "mongo":
        return "MONGO";
      case "redis":
        return "REDIS";
      case "mysql":
        return "MYSQL";
      default:
        return undefined;
    }
  };
  if (port.protocol?.toUpperCase() === "UDP") return "UDP";
  return (
    fromName(port.appProtocol?.replace(/^kubernetes\.io\//, "")) ??
    fromName(port.name) ??
    "UNSUPPORTED"
  );
}

export function isHttpProtocol(protocol: Protocol): boolean {
  return (
    protocol === "HTTP" ||
    protocol === "HTTP2" ||
    protocol === "GRPC" ||
    protocol === "GRPC-Web" ||
    protocol === "HTTP_PROXY"
  );
}

const PROTOCOL_NAMES: ReadonlyMap<string, Protocol> = new Map<string, Protocol>([
  ["http", "HTTP"],
  ["http2", "HTTP2"],
  ["http_proxy", "HTTP_PROXY"],
  ["grpc", "GRPC"],
  ["grpc-web", "GRPC-Web"],
  ["https", "HTTPS"],
  ["tls", "TLS"],
  ["tcp", "TCP"],
  ["udp", "UDP"],
  ["mongo", "MONGO"],
  ["redis", "REDIS"],
  ["mysql", "MYSQL"],
]);

/** Istio's `protocol.Parse`: a protocol written out (ServiceEntry, Gateway, Sidecar ports), any case. */
export function parseProtocol(value: string | undefined): Protocol {
  return PROTOCOL_NAMES.get((value ?? "").toLowerCase()) ?? "UNSUPPORTED";
}
