// Semantic validation of EnvoyFilter (Istio's validating-webhook and CRD rules): selector or
// targetRefs, and per config patch: applyTo, operation and value present, a match that fits
// applyTo, v3 type URLs, and warnings for patches Istio ignores or may apply out of order.
import type { FieldPath } from "../diagnostic.ts";
import type { KindValidator, ValidationContext } from "./context.ts";
import { checkPatchMatch } from "./envoy-filter-match.ts";
import { isObj, type Obj, objects, present } from "./rules.ts";
import { checkNetworkingSelector } from "./workload-entry-fields.ts";

const INSERTS = ["INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST"];
const FILTER_OPS = ["ADD", ...INSERTS, "REPLACE", "REMOVE", "MERGE"];

/** Operations Istio applies for each applyTo (pilot/pkg/networking/core/envoyfilter); others are ignored. */
const EFFECTIVE_OPERATIONS: Readonly<Record<string, readonly string[]>> = {
  LISTENER: ["ADD", "REMOVE", "MERGE"],
  FILTER_CHAIN: ["ADD", "REMOVE", "MERGE"],
  LISTENER_FILTER: ["ADD", ...INSERTS, "REPLACE", "REMOVE"],
  NETWORK_FILTER: FILTER_OPS,
  HTTP_FILTER: FILTER_OPS,
  ROUTE_CONFIGURATION: ["MERGE"],
  VIRTUAL_HOST: ["ADD", "REMOVE", "MERGE", "REPLACE"],
  HTTP_ROUTE: ["ADD", ...INSERTS, "REMOVE", "MERGE"],
  CLUSTER: ["ADD", "REMOVE", "MERGE", "REPLACE"],
  EXTENSION_CONFIG: ["ADD"],
  BOOTSTRAP: ["MERGE"],
};

const FILTER_KINDS = new Set(["HTTP_FILTER", "NETWORK_FILTER", "LISTENER_FILTER"]);
const V2_TYPE = /^type\.googleapis\.com\/envoy\.(?:.+\.)?v2(?:alpha\d*)?\.[A-Za-z]/;

/** Every `@type` in the value that names an Envoy v2 message, which Istio can no longer resolve. */
function findV2Types(value: unknown, path: FieldPath, out: Array<[FieldPath, string]>): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      findV2Types(item, [...path, i], out);
    });
    return;
  }
  if (!isObj(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key === "@type" && typeof child === "string" && V2_TYPE.test(child))
      out.push([[...path, key], child]);
    else findV2Types(child, [...path, key], out);
  }
}

function checkPatchValue(
  ctx: ValidationContext,
  path: FieldPath,
  value: Obj,
  applyTo: string,
): void {
  const v2: Array<[FieldPath, string]> = [];
  findV2Types(value, path, v2);
  for (const [at, type] of v2) {
    ctx.error(
      at,
      "CREMA_VALIDATION_INVALID",
      `type ${JSON.stringify(type)} is an Envoy v2 API that Istio no longer knows; use the v3 type (e.g. type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua)`,
    );
  }
  if (!FILTER_KINDS.has(applyTo)) return;
  const typed = ["typed_config", "typedConfig", "config_discovery", "configDiscovery"];
  if (!typed.some((k) => present(value[k]))) {
    ctx.warn(
      path,
      "CREMA_VALIDATION_DEPRECATED",
      `the filter ${typeof value.name === "string" ? JSON.stringify(value.name) : "value"} has no typed_config; Envoy is removing lookup of filters by name, so add typed_config with its "@type"`,
    );
  }
}

function checkOperation(
  ctx: ValidationContext,
  path: FieldPath,
  applyTo: string,
  op: string,
  priority: number,
): void {
  const effective = EFFECTIVE_OPERATIONS[applyTo];
  if (effective && !effective.includes(op)) {
    ctx.warn(
      [...path, "patch", "operation"],
      "CREMA_VALIDATION_INVALID",
      `operation ${op} is ignored for applyTo ${applyTo}; use one of ${effective.join(", ")}`,
    );
    return;
  }
  const relative =
    op === "INSERT_BEFORE" ||
    op === "INSERT_AFTER" ||
    op === "REPLACE" ||
    (op === "REMOVE" && applyTo !== "ROUTE_CONFIGURATION" && applyTo !== "HTTP_ROUTE");
  if (relative && priority === 0) {
    ctx.warn(
      [...path, "patch", "operation"],
      "CREMA_VALIDATION_INVALID",
      `${op} is relative to another filter, and this EnvoyFilter has no priority, so its order against other EnvoyFilters may change (e.g. on upgrade); set spec.priority, or use INSERT_FIRST or ADD`,
    );
  }
}

function checkConfigPatch(
  ctx: ValidationContext,
  path: FieldPath,
  patch: Obj,
  priority: number,
): void {
  const applyTo = typeof patch.applyTo === "string" ? patch.applyTo : "INVALID";
  if (applyTo === "INVALID") {
    ctx.error(
      [...path, "applyTo"],
      "CREMA_VALIDATION_REQUIRED",
      "the patch has no applyTo; say what it changes, e.g. HTTP_FILTER, CLUSTER or LISTENER",
    );
    return;
  }
  const body = patch.patch;
  if (!isObj(body)) {
    ctx.error(
      [...path, "patch"],
      "CREMA_VALIDATION_REQUIRED",
      "the config patch has no patch; add patch with an operation and, except for REMOVE, a value",
    );
    return;
  }
  const op = typeof body.operation === "string" ? body.operation : "INVALID";
  if (op === "INVALID") {
    ctx.error(
      [...path, "patch", "operation"],
      "CREMA_VALIDATION_REQUIRED",
      "the patch has no operation; use MERGE, ADD, REMOVE, INSERT_BEFORE, INSERT_AFTER, INSERT_FIRST or REPLACE",
    );
    return;
  }
  if (op !== "REMOVE" && !present(body.value)) {
    ctx.error(
      [...path, "patch", "value"],
      "CREMA_VALIDATION_REQUIRED",
      `operation ${op} needs a value: the Envoy configuration to ${op === "MERGE" ? "merge in" : "insert"}`,
    );
    return;
  }
  if (isObj(patch.match) && !checkPatchMatch(ctx, [...path, "match"], patch.match, applyTo)) return;
  if (isObj(body.value)) checkPatchValue(ctx, [...path, "patch", "value"], body.value, applyTo);
  checkOperation(ctx, path, applyTo, op, priority);
}

export const validateEnvoyFilter: KindValidator = (spec, ctx) => {
  checkNetworkingSelector(ctx, ["spec", "workloadSelector"], spec.workloadSelector, "EnvoyFilter");
  if (
    present(spec.workloadSelector) &&
    Array.isArray(spec.targetRefs) &&
    spec.targetRefs.length > 0
  ) {
    ctx.error(
      ["spec", "targetRefs"],
      "CREMA_VALIDATION_EXCLUSIVE",
      "workloadSelector and targetRefs cannot be combined; choose the proxies with exactly one of them",
    );
  }
  const priority = typeof spec.priority === "number" ? spec.priority : 0;
  for (const [patch, i] of objects(spec.configPatches)) {
    checkConfigPatch(ctx, ["spec", "configPatches", i], patch, priority);
  }
};
