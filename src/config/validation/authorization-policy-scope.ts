// Policy scope for security, telemetry and extension kinds: selector, targetRef(s), dry-run.
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { isObj, type Obj, objects, present } from "./rules.ts";

const SELECTOR_VALUE_MAX = 63;
const TARGET_REFS_MAX = 16;
const KIND_PATTERN = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const GROUP_PATTERN = /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Resources a policy may target, as canonical group → kinds ("" is the core group). */
const TARGETABLE: ReadonlyArray<[group: string, kind: string]> = [
  ["", "Service"],
  ["networking.istio.io", "ServiceEntry"],
  ["gateway.networking.k8s.io", "Gateway"],
  ["gateway.networking.k8s.io", "GatewayClass"],
];

export const DRY_RUN_ANNOTATION = "istio.io/dry-run";

/**
 * Istio's workload selector rule for policies: label keys must be non-empty and neither keys
 * nor values may contain '*'; a selector without labels is accepted with a warning.
 */
export function checkPolicySelector(ctx: ValidationContext, path: FieldPath, value: unknown): void {
  if (!isObj(value)) return;
  const labels = value.matchLabels;
  if (!isObj(labels) || Object.keys(labels).length === 0) {
    ctx.warn(
      [...path, "matchLabels"],
      "CREMA_VALIDATION_LABELS",
      "the selector has no labels, so it selects every workload in the namespace; add matchLabels or remove the selector",
    );
    return;
  }
  for (const [key, raw] of Object.entries(labels)) {
    const at = [...path, "matchLabels", key];
    if (key === "") {
      ctx.error(
        at,
        "CREMA_VALIDATION_LABELS",
        "a selector label key is empty; give the label a name",
      );
    } else if (key.includes("*")) {
      ctx.error(
        at,
        "CREMA_VALIDATION_LABELS",
        `selector label key ${JSON.stringify(key)} contains '*'; selectors match labels exactly, so write the full key`,
      );
    }
    if (typeof raw !== "string") continue;
    if (raw.includes("*")) {
      ctx.error(
        at,
        "CREMA_VALIDATION_LABELS",
        `selector label value ${JSON.stringify(raw)} contains '*'; wildcards are not supported, write the exact value`,
      );
    } else if (raw.length > SELECTOR_VALUE_MAX) {
      ctx.error(
        at,
        "CREMA_VALIDATION_LABELS",
        `selector label value is ${raw.length} characters long; label values are at most ${SELECTOR_VALUE_MAX}`,
      );
    }
  }
}

function checkTargetRef(ctx: ValidationContext, path: FieldPath, ref: Obj): void {
  const { group, kind, name, namespace } = ref;
  if (name === "") {
    ctx.error(
      [...path, "name"],
      "CREMA_VALIDATION_REQUIRED",
      "targetRef name is empty; name the resource to target",
    );
  } else if (typeof name === "string" && name.length > 253) {
    ctx.error(
      [...path, "name"],
      "CREMA_VALIDATION_NAME",
      "targetRef name is longer than 253 characters",
    );
  }
  if (typeof namespace === "string" && namespace !== "") {
    ctx.error(
      [...path, "namespace"],
      "CREMA_VALIDATION_INVALID",
      "targetRef namespace must be empty: a policy can only target resources in its own namespace; remove the field or move the policy",
    );
  }
  if (typeof group === "string" && (group.length > 253 || !GROUP_PATTERN.test(group))) {
    ctx.error(
      [...path, "group"],
      "CREMA_VALIDATION_NAME",
      `targetRef group ${JSON.stringify(group)} is not a valid API group (lowercase DNS subdomain, or "" for core)`,
    );
    return;
  }
  if (typeof kind !== "string") return;
  if (kind.length > 63 || !KIND_PATTERN.test(kind)) {
    ctx.error(
      [...path, "kind"],
      "CREMA_VALIDATION_NAME",
      `targetRef kind ${JSON.stringify(kind)} is not a valid kind name (letters, digits and '-', starting with a letter)`,
    );
    return;
  }
  const canonical = typeof group === "string" && group !== "core" ? group : "";
  if (!TARGETABLE.some(([g, k]) => g === canonical && k === kind)) {
    ctx.error(
      [...path, "kind"],
      "CREMA_VALIDATION_INVALID",
      `targetRef ${typeof group === "string" && group !== "" ? `${group}/` : ""}${kind} cannot be targeted; use a Service (group ""), a ServiceEntry (networking.istio.io), or a Gateway or GatewayClass (gateway.networking.k8s.io)`,
    );
  }
}

/** selector, targetRef and targetRefs: each well-formed, and at most one of them set. */
export function checkPolicyScope(ctx: ValidationContext, spec: Obj): void {
  checkPolicySelector(ctx, ["spec", "selector"], spec.selector);
  if (isObj(spec.targetRef)) checkTargetRef(ctx, ["spec", "targetRef"], spec.targetRef);
  if (Array.isArray(spec.targetRefs)) {
    if (spec.targetRefs.length > TARGET_REFS_MAX) {
      ctx.error(
        ["spec", "targetRefs"],
        "CREMA_VALIDATION_RANGE",
        `targetRefs lists ${spec.targetRefs.length} resources; at most ${TARGET_REFS_MAX} are allowed, split the policy`,
      );
    }
    for (const [ref, i] of objects(spec.targetRefs))
      checkTargetRef(ctx, ["spec", "targetRefs", i], ref);
  }
  const set = (["selector", "targetRef", "targetRefs"] as const).filter((f) => present(spec[f]));
  if (set.length > 1) {
    ctx.error(
      ["spec", set[1]!],
      "CREMA_VALIDATION_EXCLUSIVE",
      `${set.join(" and ")} cannot be combined; choose the workloads with exactly one of selector, targetRef or targetRefs`,
    );
  }
}

const GO_BOOLEANS = new Set([
  "1",
  "t",
  "T",
  "TRUE",
  "true",
  "True",
  "0",
  "f",
  "F",
  "FALSE",
  "false",
  "False",
]);

/**
 * istio.io/dry-run: only AuthorizationPolicy supports it (pass its action), only for ALLOW and
 * DENY, and its value must be a boolean.
 */
export function checkDryRunAnnotation(ctx: ValidationContext, action?: string): void {
  const value = ctx.resource.annotations[DRY_RUN_ANNOTATION];
  if (value === undefined) return;
  const path = ["metadata", "annotations", DRY_RUN_ANNOTATION];
  if (action === undefined) {
    ctx.error(
      path,
      "CREMA_VALIDATION_INVALID",
      `the ${DRY_RUN_ANNOTATION} annotation is only supported on AuthorizationPolicy; remove it`,
    );
  } else if (action !== "ALLOW" && action !== "DENY") {
    ctx.error(
      path,
      "CREMA_VALIDATION_POLICY",
      `the ${DRY_RUN_ANNOTATION} annotation only works with ALLOW and DENY policies, not ${action}; remove it`,
    );
  } else if (!GO_BOOLEANS.has(value)) {
    ctx.error(
      path,
      "CREMA_VALIDATION_INVALID",
      `${DRY_RUN_ANNOTATION} must be "true" or "false", not ${JSON.stringify(value)}`,
    );
  }
}
