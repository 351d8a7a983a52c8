// Port rules shared by Gateway, ServiceEntry, Sidecar and WorkloadEntry: Istio's protocol names
// (pkg/config/protocol, parsed case-insensitively) and port names (DNS-1123 labels).
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { isIstioDnsLabel } from "./virtual-service-hosts.ts";

/** Istio's protocol names, keyed by their lower-case spelling. */
const PROTOCOLS: Readonly<Record<string, string>> = {
  tcp: "TCP",
  udp: "UDP",
  grpc: "GRPC",
  "grpc-web": "GRPC-Web",
  http: "HTTP",
  http_proxy: "HTTP_PROXY",
  http2: "HTTP2",
  https: "HTTPS",
  tls: "TLS",
  mongo: "Mongo",
  redis: "Redis",
  mysql: "MySQL",
};

const HTTP = new Set(["HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-Web"]);
const TLS = new Set(["HTTPS", "TLS"]);
const TCP = new Set(["TCP", "HTTPS", "TLS", "Mongo", "Redis", "MySQL"]);

export const PROTOCOL_LIST = "HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, MONGO, REDIS, MYSQL";

/** `protocol.Parse`: the canonical protocol, or undefined when Istio does not know it. */
export function parseProtocol(value: unknown): string | undefined {
  return typeof value === "string" ? PROTOCOLS[value.toLowerCase()] : undefined;
}

/** Protocols carried over HTTP (HTTP/1.1, HTTP/2, gRPC). */
export function isHttpProtocol(value: unknown): boolean {
  return HTTP.has(parseProtocol(value) ?? "");
}

/** Protocols carried over TLS (HTTPS, TLS). */
export function isTlsProtocol(value: unknown): boolean {
  return TLS.has(parseProtocol(value) ?? "");
}

/** Protocols Istio proxies as raw TCP streams (TCP, TLS, HTTPS and the database protocols). */
export function isTcpProtocol(value: unknown): boolean {
  return TCP.has(parseProtocol(value) ?? "");
}

/**
 * `ValidateProtocol`: a known protocol name. An empty protocol means "detect it" where
 * `allowEmpty` is set (ServiceEntry and Sidecar ports); Gateway ports must name one.
 */
export function checkProtocol(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
  { allowEmpty = true } = {},
): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value !== "string") return true;
  if (value === "" && allowEmpty) return true;
  if (parseProtocol(value)) return true;
  ctx.error(
    path,
    "CREMA_VALIDATION_INVALID",
    value === ""
      ? `the port protocol is empty; name one of ${PROTOCOL_LIST}`
      : `unknown protocol ${JSON.stringify(value)}; use one of ${PROTOCOL_LIST} (any case)`,
  );
  return false;
}

/** `ValidatePortName`: a DNS-1123 label of at most 63 letters, digits and inner '-'. */
export function checkPortName(ctx: ValidationContext, path: FieldPath, value: unknown): boolean {
  if (typeof value !== "string") return true;
  if (isIstioDnsLabel(value)) return true;
  ctx.error(
    path,
    "CREMA_VALIDATION_NAME",
    value === ""
      ? "the port name is empty; give the port a name such as http or tcp-db"
      : `port name ${JSON.stringify(value)} is invalid; use at most 63 letters, digits and '-', starting and ending with a letter or digit (e.g. http-web)`,
  );
  return false;
}

/** Port numbers given as the values of a name → number map (`endpoint.ports`). */
export function checkPortMap(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
  declared?: ReadonlySet<string>,
): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return;
  for (const [name, number] of Object.entries(value)) {
    const at = [...path, name];
    if (declared && !declared.has(name)) {
      ctx.error(
        at,
        "CREMA_VALIDATION_NAME",
        `endpoint port ${JSON.stringify(name)} is not a port of this ServiceEntry; use one of the declared port names (${[...declared].join(", ") || "none declared"})`,
      );
    } else if (!isIstioDnsLabel(name)) {
      ctx.error(
        at,
        "CREMA_VALIDATION_NAME",
        `port name ${JSON.stringify(name)} is invalid; use at most 63 letters, digits and '-', starting and ending with a letter or digit`,
      );
    }
    if (
      typeof number === "number" &&
      !(Number.isInteger(number) && number >= 1 && number <= 65535)
    ) {
      ctx.error(
        at,
        "CREMA_VALIDATION_PORT",
        `port ${number} for ${JSON.stringify(name)} is invalid; use a port number from 1 to 65535`,
      );
    }
  }
}
