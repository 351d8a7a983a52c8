// Semantic validation of Gateway (Istio's validating-webhook rules): servers, their hosts,
// ports, bind addresses and TLS settings, and unique server port names.
import type { FieldPath } from "../diagnostic.ts";
import type { KindValidator, ValidationContext } from "./context.ts";
import { checkNamespacedHost, checkUnixAddress, UNIX_PREFIX } from "./gateway-hosts.ts";
import { checkServerTls, tlsMode } from "./gateway-tls.ts";
import { checkPortName, checkProtocol, isHttpProtocol, isTlsProtocol } from "./ports.ts";
import { checkCidr, checkPort, isObj, type Obj, objects } from "./rules.ts";
import { isIstioDnsLabel } from "./virtual-service-hosts.ts";

/** `validateServerPort`; returns whether the port is valid (TLS checks depend on it). */
function checkServerPort(
  ctx: ValidationContext,
  path: FieldPath,
  port: Obj,
  bind: unknown,
): boolean {
  let ok = checkProtocol(ctx, [...path, "protocol"], port.protocol, { allowEmpty: false });
  const unixBind = typeof bind === "string" && bind.startsWith(UNIX_PREFIX);
  const number = port.number;
  if (typeof number === "number" && (number > 0 || !unixBind)) {
    ok = checkPort(ctx, [...path, "number"], number) && ok;
  }
  if (typeof port.targetPort === "number" && port.targetPort > 0) {
    ctx.error(
      [...path, "targetPort"],
      "CREMA_VALIDATION_INVALID",
      "targetPort has no effect on a Gateway; remove it (the gateway listens on port.number)",
    );
    ok = false;
  }
  return checkPortName(ctx, [...path, "name"], port.name) && ok;
}

function checkServerBind(ctx: ValidationContext, path: FieldPath, server: Obj): void {
  const bind = server.bind;
  if (typeof bind !== "string" || bind === "") return;
  if (!bind.startsWith(UNIX_PREFIX)) {
    checkCidr(ctx, [...path, "bind"], bind, { allowCidr: false });
    return;
  }
  checkUnixAddress(ctx, [...path, "bind"], bind);
  const number = isObj(server.port) ? server.port.number : undefined;
  if (typeof number === "number" && number !== 0) {
    ctx.error(
      [...path, "port", "number"],
      "CREMA_VALIDATION_PORT",
      `a server bound to a Unix domain socket has no port; set port.number to 0 (got ${number})`,
    );
  }
}

/** HTTPS/TLS servers need `tls`; other protocols may only carry an httpsRedirect block. */
function checkTlsForProtocol(ctx: ValidationContext, path: FieldPath, server: Obj): void {
  const protocol = isObj(server.port) ? server.port.protocol : undefined;
  const tls = server.tls;
  if (isTlsProtocol(protocol)) {
    if (!isObj(tls)) {
      ctx.error(
        [...path, "tls"],
        "CREMA_VALIDATION_REQUIRED",
        `a ${String(protocol)} server needs tls settings; add tls with mode SIMPLE and credentialName, or mode PASSTHROUGH`,
      );
    }
    return;
  }
  if (!isObj(tls)) return;
  if (!isHttpProtocol(protocol)) {
    ctx.error(
      [...path, "tls"],
      "CREMA_VALIDATION_INVALID",
      `a ${String(protocol)} server cannot have tls settings; use protocol HTTPS or TLS to serve TLS, or remove tls`,
    );
    return;
  }
  const mode = tlsMode(tls);
  const passthrough = mode === "PASSTHROUGH" || mode === "AUTO_PASSTHROUGH";
  const certs = ["caCertificates", "privateKey", "serverCertificate"].some(
    (f) => typeof tls[f] === "string" && tls[f] !== "",
  );
  if (!passthrough || certs) {
    ctx.error(
      [...path, "tls"],
      "CREMA_VALIDATION_INVALID",
      `a plain-text ${String(protocol)} server cannot terminate TLS; only tls.httpsRedirect is allowed here, so use protocol HTTPS for a TLS server`,
    );
  }
}

function checkServer(ctx: ValidationContext, path: FieldPath, server: Obj): void {
  const hosts = server.hosts;
  if (Array.isArray(hosts)) {
    if (hosts.length === 0) {
      ctx.error(
        [...path, "hosts"],
        "CREMA_VALIDATION_REQUIRED",
        `a server needs at least one host; list the hosts it serves, e.g. "*" or "example.com"`,
      );
    }
    hosts.forEach((host, i) => {
      checkNamespacedHost(ctx, [...path, "hosts", i], host, true);
    });
  }
  const portOk = isObj(server.port)
    ? checkServerPort(ctx, [...path, "port"], server.port, server.bind)
    : false;
  checkServerBind(ctx, path, server);
  if (isObj(server.tls)) checkServerTls(ctx, [...path, "tls"], server.tls);
  if (portOk) checkTlsForProtocol(ctx, path, server);
}

export const validateGateway: KindValidator = (spec, ctx) => {
  const name = ctx.resource.name;
  if (name !== "" && !isIstioDnsLabel(name)) {
    ctx.error(
      ["metadata", "name"],
      "CREMA_VALIDATION_NAME",
      `Gateway name ${JSON.stringify(name)} must be a DNS label (no dots): VirtualServices refer to it as namespace/name; rename it, e.g. ${JSON.stringify(name.replaceAll(".", "-"))}`,
    );
  }
  const servers = spec.servers;
  if (!Array.isArray(servers) || servers.length === 0) {
    ctx.error(
      ["spec", "servers"],
      "CREMA_VALIDATION_REQUIRED",
      "a Gateway needs at least one server; add servers with a port and hosts",
    );
    return;
  }
  const portNames = new Map<string, number>();
  for (const [server, i] of objects(servers)) {
    const path = ["spec", "servers", i];
    checkServer(ctx, path, server);
    if (!isObj(server.port)) continue;
    const { name: portName, protocol } = server.port;
    if (typeof portName === "string" && portName !== "") {
      const first = portNames.get(portName);
      if (first !== undefined) {
        ctx.error(
          [...path, "port", "name"],
          "CREMA_VALIDATION_DUPLICATE",
          `port name ${JSON.stringify(portName)} is already used by servers[${first}]; server port names must be unique within a Gateway`,
        );
      } else {
        portNames.set(portName, i);
      }
    }
    if (isObj(server.tls) && server.tls.httpsRedirect === true && !isHttpProtocol(protocol)) {
      ctx.warn(
        [...path, "tls", "httpsRedirect"],
        "CREMA_VALIDATION_INVALID",
        `httpsRedirect only works on HTTP servers and is ignored on a ${String(protocol)} server; move it to the HTTP server that should redirect`,
      );
    }
  }
};
