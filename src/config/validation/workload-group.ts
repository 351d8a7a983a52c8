// Semantic validation of WorkloadGroup (Istio's validating-webhook and CRD rules): metadata
// labels, the WorkloadEntry template (without a required address) and the readiness probe.
import type { FieldPath } from "../diagnostic.ts";
import type { KindValidator, ValidationContext } from "./context.ts";
import { checkLabels, checkPort, isObj, type Obj, present } from "./rules.ts";
import { checkNonNegative } from "./virtual-service-common.ts";
import { checkWorkloadFields } from "./workload-entry-fields.ts";

const PROBE_COUNTERS = [
  "initialDelaySeconds",
  "timeoutSeconds",
  "periodSeconds",
  "successThreshold",
  "failureThreshold",
] as const;

const METHODS = ["httpGet", "tcpSocket", "exec", "grpc"] as const;
const PROBE_HEADER = /^[-_A-Za-z0-9]+$/;

function checkHttpGet(ctx: ValidationContext, path: FieldPath, httpGet: Obj): void {
  checkPort(ctx, [...path, "port"], httpGet.port);
  const scheme = httpGet.scheme;
  if (typeof scheme === "string" && scheme !== "" && scheme !== "HTTP" && scheme !== "HTTPS") {
    ctx.error(
      [...path, "scheme"],
      "CREMA_VALIDATION_INVALID",
      `httpGet.scheme ${JSON.stringify(scheme)} is not supported; use HTTP or HTTPS (upper case)`,
    );
  }
  const headers = httpGet.httpHeaders;
  if (!Array.isArray(headers)) return;
  headers.forEach((header, i) => {
    if (!isObj(header) || typeof header.name !== "string") return;
    if (!PROBE_HEADER.test(header.name)) {
      ctx.error(
        [...path, "httpHeaders", i, "name"],
        "CREMA_VALIDATION_HEADER",
        `probe header name ${JSON.stringify(header.name)} is invalid; use letters, digits, '-' and '_' only`,
      );
    }
  });
}

function checkProbe(ctx: ValidationContext, path: FieldPath, probe: Obj): void {
  for (const field of PROBE_COUNTERS) {
    checkNonNegative(ctx, [...path, field], probe[field], field);
  }
  const methods = METHODS.filter((m) => present(probe[m]));
  if (methods.length === 0) {
    ctx.error(
      path,
      "CREMA_VALIDATION_REQUIRED",
      "the probe has no check; set exactly one of httpGet, tcpSocket, exec or grpc",
    );
    return;
  }
  if (methods.length > 1) {
    ctx.error(
      [...path, methods[1]!],
      "CREMA_VALIDATION_EXCLUSIVE",
      `a probe uses one check, but ${methods.join(" and ")} are set; keep only one`,
    );
  }
  if (isObj(probe.httpGet)) checkHttpGet(ctx, [...path, "httpGet"], probe.httpGet);
  if (isObj(probe.tcpSocket)) checkPort(ctx, [...path, "tcpSocket", "port"], probe.tcpSocket.port);
  if (isObj(probe.grpc)) checkPort(ctx, [...path, "grpc", "port"], probe.grpc.port);
  if (isObj(probe.exec) && Array.isArray(probe.exec.command)) {
    const command = probe.exec.command;
    if (command.length === 0) {
      ctx.error(
        [...path, "exec", "command"],
        "CREMA_VALIDATION_REQUIRED",
        "exec.command is empty; give the command to run, e.g. [/bin/check-health]",
      );
    }
    command.forEach((part, i) => {
      if (part === "") {
        ctx.error(
          [...path, "exec", "command", i],
          "CREMA_VALIDATION_REQUIRED",
          "exec.command entries must not be empty strings; remove the empty entry",
        );
      }
    });
  }
}

export const validateWorkloadGroup: KindValidator = (spec, ctx) => {
  if (isObj(spec.metadata)) checkLabels(ctx, ["spec", "metadata", "labels"], spec.metadata.labels);
  const template = spec.template;
  if (isObj(template)) {
    checkWorkloadFields(ctx, ["spec", "template"], template, { mode: "template" });
    for (const field of ["address", "labels"] as const) {
      if (!present(template[field])) continue;
      ctx.warn(
        ["spec", "template", field],
        "CREMA_VALIDATION_INVALID",
        field === "address"
          ? "template.address should not be set: each WorkloadEntry gets the address of the VM that registers; remove it"
          : "template.labels should not be set: put workload labels in spec.metadata.labels, which every WorkloadEntry inherits",
      );
    }
  }
  if (isObj(spec.probe)) checkProbe(ctx, ["spec", "probe"], spec.probe);
};
