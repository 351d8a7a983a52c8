// Service ports should declare their protocol (IST0118, info): a name `<protocol>` or
// `<protocol>-<suffix>` (http, http2, https, grpc, grpc-web, tcp, tls, mongo, mysql, redis …),
// or an appProtocol. Otherwise Istio sniffs the protocol. UDP ports and the ports Istio
// treats as TCP by default (25, 53, 3306, 27017) are exempt, as are Istio's own Services
// (labelled `istio` or `release: istio`) and ExternalName Services.
import type { Analyzer } from "./analyzer.ts";

const PROTOCOLS = new Set([
  "http",
  "http2",
  "https",
  "http_proxy",
  "grpc",
  "grpc-web",
  "tcp",
  "udp",
  "tls",
  "mongo",
  "mysql",
  "redis",
]);
const TCP_BY_DEFAULT = new Set([25, 53, 3306, 27017]);

/** The protocol a port name declares, as Istio parses it, or undefined. */
export function protocolFromPortName(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower.startsWith("grpc-web")) return "grpc-web";
  const prefix = lower.split("-", 1)[0]!;
  return PROTOCOLS.has(prefix) ? prefix : undefined;
}

export const portNames: Analyzer = {
  name: "service.port-names",
  codes: ["IST0118"],
  run(ctx) {
    for (const service of ctx.services) {
      if (!service.kubernetes) continue;
      const resource = service.resource;
      if (resource.spec.type === "ExternalName" || isIstioControlPlane(resource.labels)) continue;
      for (const port of service.ports) {
        if (port.protocol === "UDP" || port.appProtocol !== "") continue;
        if (protocolFromPortName(port.name) || TCP_BY_DEFAULT.has(port.number)) continue;
        const named = port.name ? `name ${JSON.stringify(port.name)}` : "no name";
        ctx.report(
          resource,
          port.name ? [...port.path, "name"] : port.path,
          "IST0118",
          "info",
          `port ${port.number} has ${named}, which does not declare a protocol, so Istio must detect it from the traffic; name it <protocol>[-suffix] (e.g. http-web, grpc, tcp-db) or set appProtocol`,
        );
      }
    }
  },
};

/** Istio's own Services (istiod, gateways) carry an `istio` label or `release: istio`. */
function isIstioControlPlane(labels: Readonly<Record<string, string>>): boolean {
  return "istio" in labels || labels.release === "istio" || labels.app === "istiod";
}
