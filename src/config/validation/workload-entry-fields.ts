// Fields of a workload (WorkloadEntry, ServiceEntry endpoints, WorkloadGroup templates) and the
// label-based workload selector of networking kinds, checked as Istio's validateWorkloadEntry,
// ValidateAlphaWorkloadSelector and the WorkloadEntry CRD rules do.
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { checkUnixAddress, UNIX_PREFIX } from "./gateway-hosts.ts";
import { checkPortMap } from "./ports.ts";
import { checkLabels, checkRange, isObj, type Obj } from "./rules.ts";
import { fqdnProblem, isIpAddress } from "./virtual-service-hosts.ts";

const UINT32_MAX = 4294967295;

/**
 * What an address may be: `entry` (WorkloadEntry: IP, DNS name or Unix socket), `static`
 * (STATIC ServiceEntry endpoint: IP or Unix socket), `dns` (DNS ServiceEntry endpoint: IP or
 * DNS name), `template` (WorkloadGroup template: address optional).
 */
export type AddressMode = "entry" | "static" | "dns" | "template";

export interface WorkloadFieldOptions {
  mode: AddressMode;
  /** Port names declared by the enclosing ServiceEntry; endpoint ports must use them. */
  servicePorts?: ReadonlySet<string>;
}

function checkAddress(
  ctx: ValidationContext,
  path: FieldPath,
  workload: Obj,
  mode: AddressMode,
): void {
  const address = workload.address;
  const at = [...path, "address"];
  if (typeof address !== "string" || address === "") {
    if (mode === "template") return;
    const network = typeof workload.network === "string" && workload.network !== "";
    if (mode !== "dns" && network) {
      ctx.warn(
        at,
        "CREMA_VALIDATION_REQUIRED",
        `the workload has no address, only network ${JSON.stringify(workload.network)}: traffic reaches it only through that network's gateway; set address if it is directly reachable`,
      );
    } else {
      ctx.error(
        at,
        "CREMA_VALIDATION_REQUIRED",
        mode === "dns"
          ? "a DNS endpoint needs an address; set it to a host name or IP address"
          : "the workload needs an address (an IP, a host name or unix:///path), or a network when it is reached through a gateway",
      );
    }
    return;
  }
  if (address.startsWith(UNIX_PREFIX)) {
    if (mode === "dns") {
      ctx.error(
        at,
        "CREMA_VALIDATION_ADDRESS",
        "DNS resolution cannot use a Unix domain socket endpoint; use resolution STATIC for unix:// addresses",
      );
      return;
    }
    checkUnixAddress(ctx, at, address);
    return;
  }
  if (isIpAddress(address)) return;
  if (mode === "static") {
    ctx.error(
      at,
      "CREMA_VALIDATION_ADDRESS",
      `endpoint address ${JSON.stringify(address)} is not an IP address; STATIC resolution needs IPs (or unix:// sockets), use resolution DNS for host names`,
    );
    return;
  }
  const problem = fqdnProblem(address);
  if (problem) {
    ctx.error(
      at,
      "CREMA_VALIDATION_ADDRESS",
      `address ${JSON.stringify(address)} is neither an IP address nor a valid host name (${problem})`,
    );
  }
}

/** Address, ports, labels and weight of one workload. */
export function checkWorkloadFields(
  ctx: ValidationContext,
  path: FieldPath,
  workload: Obj,
  options: WorkloadFieldOptions,
): void {
  checkAddress(ctx, path, workload, options.mode);
  const unix = typeof workload.address === "string" && workload.address.startsWith(UNIX_PREFIX);
  const ports = workload.ports;
  if (unix && isObj(ports) && Object.keys(ports).length > 0) {
    ctx.error(
      [...path, "ports"],
      "CREMA_VALIDATION_INVALID",
      "a Unix domain socket workload has no ports; remove ports (traffic goes to the socket)",
    );
  } else {
    checkPortMap(ctx, [...path, "ports"], ports, options.servicePorts);
  }
  if (unix && options.servicePorts && options.servicePorts.size !== 1) {
    ctx.error(
      [...path, "address"],
      "CREMA_VALIDATION_INVALID",
      `a Unix domain socket endpoint needs exactly one service port, but the ServiceEntry declares ${options.servicePorts.size}; keep a single port`,
    );
  }
  checkLabels(ctx, [...path, "labels"], workload.labels);
  checkRange(ctx, [...path, "weight"], workload.weight, 0, UINT32_MAX, "weight");
}

/**
 * The `workloadSelector: {labels}` of networking kinds: keys non-empty and no '*' anywhere;
 * a selector without labels selects every workload in the namespace (a warning).
 */
export function checkNetworkingSelector(
  ctx: ValidationContext,
  path: FieldPath,
  selector: unknown,
  kind: string,
): void {
  if (!isObj(selector)) return;
  const labels = selector.labels;
  if (!isObj(labels) || Object.keys(labels).length === 0) {
    ctx.warn(
      [...path, "labels"],
      "CREMA_VALIDATION_LABELS",
      `the workloadSelector has no labels, so this ${kind} applies to every workload in the namespace; add labels or remove workloadSelector`,
    );
    return;
  }
  for (const [key, value] of Object.entries(labels)) {
    const at = [...path, "labels", key];
    if (key === "") {
      ctx.error(
        at,
        "CREMA_VALIDATION_LABELS",
        "a selector label key is empty; give the label a name",
      );
    } else if (key.includes("*") || (typeof value === "string" && value.includes("*"))) {
      ctx.error(
        at,
        "CREMA_VALIDATION_LABELS",
        `selector label ${JSON.stringify(`${key}=${String(value)}`)} contains '*'; selectors match labels exactly, so write the full key and value`,
      );
    }
  }
}
