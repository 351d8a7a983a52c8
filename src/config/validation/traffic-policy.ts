// A DestinationRule `trafficPolicy` (top level, per subset, and per port): connection pool,
// outlier detection, load balancer, client TLS, tunnel, PROXY protocol and retry budget —
// Istio's validateTrafficPolicy, validateConnectionPool, validateOutlierDetection,
// validatePortTrafficPolicies, validateTunnelSettings and agent.ValidateTLS.
import type { FieldPath } from "../diagnostic.ts";
import { checkConnectionPool } from "./connection-pool.ts";
import type { ValidationContext } from "./context.ts";
import { checkLoadBalancer } from "./destination-rule-load-balancer.ts";
import { checkPort, checkRange, isObj, type Obj, objects, present } from "./rules.ts";
import { checkIstioDuration, checkNonNegative } from "./virtual-service-common.ts";
import { fqdnProblem, isIpAddress } from "./virtual-service-hosts.ts";

const POLICY_FIELDS = [
  "loadBalancer",
  "connectionPool",
  "outlierDetection",
  "tls",
  "portLevelSettings",
  "tunnel",
  "proxyProtocol",
  "retryBudget",
];
const PORT_POLICY_FIELDS = ["loadBalancer", "connectionPool", "outlierDetection", "tls"];

export function checkTrafficPolicy(ctx: ValidationContext, path: FieldPath, policy: unknown): void {
  if (!isObj(policy)) return;
  if (!POLICY_FIELDS.some((f) => present(policy[f]))) {
    ctx.error(
      path,
      "CREMA_VALIDATION_REQUIRED",
      `a trafficPolicy needs at least one of ${POLICY_FIELDS.join(", ")}; remove it if empty`,
    );
    return;
  }
  if (present(policy.tunnel) && present(policy.proxyProtocol)) {
    ctx.error(
      [...path, "proxyProtocol"],
      "CREMA_VALIDATION_EXCLUSIVE",
      "tunnel and proxyProtocol cannot be set together",
    );
    return;
  }
  checkPolicySettings(ctx, path, policy);
  checkPortLevelSettings(ctx, [...path, "portLevelSettings"], policy.portLevelSettings);
  checkTunnel(ctx, [...path, "tunnel"], policy.tunnel);
  if (isObj(policy.retryBudget)) {
    const at = [...path, "retryBudget"];
    checkRange(ctx, [...at, "percent"], policy.retryBudget.percent, 0, 100, "percentage");
    checkNonNegative(
      ctx,
      [...at, "minRetryConcurrency"],
      policy.retryBudget.minRetryConcurrency,
      "minRetryConcurrency",
    );
  }
}

/** The settings a port-level policy shares with the top-level one. */
function checkPolicySettings(ctx: ValidationContext, path: FieldPath, policy: Obj): void {
  checkOutlierDetection(ctx, [...path, "outlierDetection"], policy.outlierDetection);
  checkConnectionPool(ctx, [...path, "connectionPool"], policy.connectionPool);
  checkLoadBalancer(ctx, [...path, "loadBalancer"], policy.loadBalancer, policy.outlierDetection);
  checkClientTls(ctx, [...path, "tls"], policy.tls);
}

function checkPortLevelSettings(ctx: ValidationContext, path: FieldPath, settings: unknown): void {
  const seen = new Map<number, number>();
  for (const [setting, i] of objects(settings)) {
    const at = [...path, i];
    if (!isObj(setting.port)) {
      ctx.error(at, "CREMA_VALIDATION_REQUIRED", "a port-level setting needs port: {number: N}");
    } else {
      const number = setting.port.number;
      if (checkPort(ctx, [...at, "port", "number"], number ?? 0) && typeof number === "number") {
        const first = seen.get(number);
        if (first !== undefined) {
          ctx.warn(
            [...at, "port", "number"],
            "CREMA_VALIDATION_DUPLICATE",
            `port ${number} already has settings (portLevelSettings[${first}]); only one applies`,
          );
        } else {
          seen.set(number, i);
        }
      }
    }
    if (!PORT_POLICY_FIELDS.some((f) => present(setting[f]))) {
      ctx.error(
        at,
        "CREMA_VALIDATION_REQUIRED",
        `a port-level setting needs at least one of ${PORT_POLICY_FIELDS.join(", ")}`,
      );
      continue;
    }
    checkPolicySettings(ctx, at, setting);
  }
}

function checkOutlierDetection(ctx: ValidationContext, path: FieldPath, outlier: unknown): void {
  if (!isObj(outlier)) return;
  checkIstioDuration(ctx, [...path, "baseEjectionTime"], outlier.baseEjectionTime);
  checkIstioDuration(ctx, [...path, "interval"], outlier.interval);
  for (const field of [
    "consecutive5xxErrors",
    "consecutiveGatewayErrors",
    "consecutiveLocalOriginFailures",
  ])
    checkNonNegative(ctx, [...path, field], outlier[field], field);
  if (typeof outlier.consecutiveErrors === "number" && outlier.consecutiveErrors !== 0) {
    ctx.warn(
      [...path, "consecutiveErrors"],
      "CREMA_VALIDATION_DEPRECATED",
      "consecutiveErrors is deprecated; use consecutive5xxErrors or consecutiveGatewayErrors",
    );
  }
  const localOrigin = outlier.consecutiveLocalOriginFailures;
  if (
    typeof localOrigin === "number" &&
    localOrigin > 0 &&
    outlier.splitExternalLocalOriginErrors !== true
  ) {
    ctx.error(
      [...path, "consecutiveLocalOriginFailures"],
      "CREMA_VALIDATION_INVALID",
      "consecutiveLocalOriginFailures takes effect only with splitExternalLocalOriginErrors: true",
    );
  }
  checkRange(
    ctx,
    [...path, "maxEjectionPercent"],
    outlier.maxEjectionPercent,
    0,
    100,
    "percentage",
  );
  checkRange(ctx, [...path, "minHealthPercent"], outlier.minHealthPercent, 0, 100, "percentage");
}

function nonEmpty(value: unknown): boolean {
  return typeof value === "string" && value !== "";
}

/** Client TLS settings (`agent.ValidateTLS`). */
function checkClientTls(ctx: ValidationContext, path: FieldPath, tls: unknown): void {
  if (!isObj(tls)) return;
  const mode = tls.mode;
  if (tls.insecureSkipVerify === true) {
    const conflicts =
      mode === "SIMPLE"
        ? ["caCertificates", "credentialName", "subjectAltNames"]
        : mode === "MUTUAL"
          ? ["caCertificates", "subjectAltNames"]
          : [];
    const found = conflicts.filter((f) =>
      f === "subjectAltNames" ? present(tls[f]) : nonEmpty(tls[f]),
    );
    if (found.length > 0) {
      ctx.error(
        [...path, "insecureSkipVerify"],
        "CREMA_VALIDATION_EXCLUSIVE",
        `insecureSkipVerify skips server verification, so ${found.join(" and ")} cannot be set with it`,
      );
    }
  }
  if ((mode === "SIMPLE" || mode === "MUTUAL") && nonEmpty(tls.credentialName)) {
    const files = ["clientCertificate", "privateKey", "caCertificates", "caCrl"].filter((f) =>
      nonEmpty(tls[f]),
    );
    if (files.length > 0) {
      ctx.error(
        [...path, files[0]!],
        "CREMA_VALIDATION_EXCLUSIVE",
        `credentialName supplies the certificates, so ${files.join(", ")} cannot be set with it`,
      );
    }
    return;
  }
  if (mode === "MUTUAL") {
    for (const field of ["clientCertificate", "privateKey"]) {
      if (!nonEmpty(tls[field])) {
        ctx.error(
          path,
          "CREMA_VALIDATION_REQUIRED",
          `MUTUAL TLS needs ${field} (or credentialName naming a secret)`,
        );
      }
    }
  }
}

function checkTunnel(ctx: ValidationContext, path: FieldPath, tunnel: unknown): void {
  if (!isObj(tunnel)) return;
  const protocol = tunnel.protocol;
  if (
    typeof protocol === "string" &&
    protocol !== "" &&
    protocol !== "CONNECT" &&
    protocol !== "POST"
  ) {
    ctx.error(
      [...path, "protocol"],
      "CREMA_VALIDATION_INVALID",
      `tunnel protocol ${JSON.stringify(protocol)} is invalid; use "CONNECT" or "POST"`,
    );
  }
  const host = tunnel.targetHost;
  if (typeof host === "string") {
    const problem = fqdnProblem(host);
    if (problem && !isIpAddress(host)) {
      ctx.error(
        [...path, "targetHost"],
        "CREMA_VALIDATION_HOST",
        `tunnel targetHost ${JSON.stringify(host)} must be a DNS name or an IP address: ${problem}`,
      );
    }
  }
  if (present(tunnel.targetPort)) checkPort(ctx, [...path, "targetPort"], tunnel.targetPort);
}
