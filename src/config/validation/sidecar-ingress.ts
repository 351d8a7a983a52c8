// Sidecar ingress listeners, checked as Istio's ValidateSidecar does: port, bind address,
// unique ports, the default endpoint form, the TLS features a sidecar supports, and the
// per-port connection pool.
import type { FieldPath } from "../diagnostic.ts";
import { checkConnectionPool } from "./connection-pool.ts";
import type { ValidationContext } from "./context.ts";
import { checkUnixAddress, UNIX_PREFIX } from "./gateway-hosts.ts";
import { checkServerTls } from "./gateway-tls.ts";
import { checkPortName, checkProtocol, isHttpProtocol, isTlsProtocol } from "./ports.ts";
import { checkCidr, checkPort, isObj, type Obj, objects } from "./rules.ts";

const LOOPBACK_OR_ANY = new Set(["", "127.0.0.1", "0.0.0.0", "::1", "::"]);
const ENDPOINT_FORMS = "127.0.0.1:PORT, 0.0.0.0:PORT, [::1]:PORT, [::]:PORT or unix:///path";

/** Port fields shared by ingress and egress listeners (name, protocol, no targetPort). */
export function checkListenerPortFields(ctx: ValidationContext, path: FieldPath, port: Obj): void {
  if (typeof port.name === "string" && port.name !== "")
    checkPortName(ctx, [...path, "name"], port.name);
  checkProtocol(ctx, [...path, "protocol"], port.protocol);
  if (typeof port.targetPort === "number" && port.targetPort > 0) {
    ctx.error(
      [...path, "targetPort"],
      "CREMA_VALIDATION_INVALID",
      "targetPort has no effect on a Sidecar listener; remove it",
    );
  }
}

/** Splits `host:port` / `[v6]:port` / `:port` like Go's net.SplitHostPort. */
function splitHostPort(value: string): { host: string; port: string } | undefined {
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0 || value[close + 1] !== ":") return undefined;
    return { host: value.slice(1, close), port: value.slice(close + 2) };
  }
  const colon = value.lastIndexOf(":");
  if (colon < 0 || value.indexOf(":") !== colon) return undefined;
  return { host: value.slice(0, colon), port: value.slice(colon + 1) };
}

function checkDefaultEndpoint(ctx: ValidationContext, path: FieldPath, value: unknown): void {
  if (typeof value !== "string" || value === "") return;
  if (value.startsWith(UNIX_PREFIX)) {
    checkUnixAddress(ctx, path, value);
    return;
  }
  const parts = splitHostPort(value);
  if (!parts || !LOOPBACK_OR_ANY.has(parts.host)) {
    ctx.error(
      path,
      "CREMA_VALIDATION_ADDRESS",
      `defaultEndpoint ${JSON.stringify(value)} must have the form ${ENDPOINT_FORMS}`,
    );
    return;
  }
  const port = /^\d+$/.test(parts.port) ? Number(parts.port) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) {
    ctx.error(
      path,
      "CREMA_VALIDATION_PORT",
      `defaultEndpoint ${JSON.stringify(value)} needs a port from 1 to 65535 after the colon`,
    );
  }
}

function checkIngressTls(
  ctx: ValidationContext,
  path: FieldPath,
  tls: Obj,
  protocol: unknown,
): void {
  const unsupported: Array<[string, boolean]> = [
    ["subjectAltNames", Array.isArray(tls.subjectAltNames) && tls.subjectAltNames.length > 0],
    ["httpsRedirect", tls.httpsRedirect === true],
    ["credentialName", typeof tls.credentialName === "string" && tls.credentialName !== ""],
    ["credentialNames", Array.isArray(tls.credentialNames) && tls.credentialNames.length > 0],
    ["tlsCertificates", Array.isArray(tls.tlsCertificates) && tls.tlsCertificates.length > 0],
  ];
  for (const [field, set] of unsupported) {
    if (!set) continue;
    ctx.error(
      [...path, field],
      "CREMA_VALIDATION_INVALID",
      `sidecar ingress TLS does not support ${field}; remove it (use serverCertificate, privateKey and caCertificates file paths)`,
    );
  }
  if (tls.mode === "ISTIO_MUTUAL" || tls.mode === "AUTO_PASSTHROUGH") {
    ctx.error(
      [...path, "mode"],
      "CREMA_VALIDATION_INVALID",
      `mode ${tls.mode} is not available on sidecar ingress listeners; use SIMPLE or MUTUAL (Istio mTLS is configured with PeerAuthentication)`,
    );
  }
  if (!isTlsProtocol(protocol)) {
    ctx.error(
      path,
      "CREMA_VALIDATION_INVALID",
      `a ${typeof protocol === "string" && protocol !== "" ? protocol : "protocol-less"} port cannot have tls settings; set the port protocol to HTTPS or TLS, or remove tls`,
    );
  }
  checkServerTls(ctx, path, tls);
}

/** All ingress listeners of a Sidecar. */
export function checkIngressListeners(ctx: ValidationContext, ingress: unknown): void {
  const seen = new Map<number, number>();
  for (const [listener, i] of objects(ingress)) {
    const path = ["spec", "ingress", i];
    const port = listener.port;
    if (!isObj(port)) continue;
    checkListenerPortFields(ctx, [...path, "port"], port);
    const number = typeof port.number === "number" ? port.number : 0;
    if (checkPort(ctx, [...path, "port", "number"], number)) {
      const first = seen.get(number);
      if (first !== undefined) {
        ctx.error(
          [...path, "port", "number"],
          "CREMA_VALIDATION_DUPLICATE",
          `port ${number} is already used by ingress[${first}]; each ingress listener needs its own port`,
        );
      } else {
        seen.set(number, i);
      }
    }
    if (typeof listener.bind === "string" && listener.bind !== "") {
      checkCidr(ctx, [...path, "bind"], listener.bind, { allowCidr: false });
    }
    checkDefaultEndpoint(ctx, [...path, "defaultEndpoint"], listener.defaultEndpoint);
    if (isObj(listener.tls)) checkIngressTls(ctx, [...path, "tls"], listener.tls, port.protocol);
    const pool = listener.connectionPool;
    checkConnectionPool(ctx, [...path, "connectionPool"], pool);
    if (isObj(pool) && isObj(pool.http) && !isHttpProtocol(port.protocol)) {
      ctx.warn(
        [...path, "connectionPool", "http"],
        "CREMA_VALIDATION_INVALID",
        `HTTP connection pool settings have no effect on port ${number}, whose protocol is ${typeof port.protocol === "string" && port.protocol !== "" ? port.protocol : "unset"}; only the tcp settings apply (set protocol HTTP to use them)`,
      );
    }
  }
}
