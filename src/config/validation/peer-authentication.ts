// Semantic validation of PeerAuthentication (Istio webhook + CRD rules): selector, port-level mTLS.
import { checkDryRunAnnotation, checkPolicySelector } from "./authorization-policy-scope.ts";
import type { KindValidator } from "./context.ts";
import { isObj } from "./rules.ts";

export const validatePeerAuthentication: KindValidator = (spec, ctx) => {
  checkDryRunAnnotation(ctx);
  checkPolicySelector(ctx, ["spec", "selector"], spec.selector);

  const ports = spec.portLevelMtls;
  if (!isObj(ports)) return;
  const labels = isObj(spec.selector) ? spec.selector.matchLabels : undefined;
  const hasSelector = isObj(labels) && Object.keys(labels).length > 0;
  if (!hasSelector) {
    ctx.error(
      ["spec", "portLevelMtls"],
      "CREMA_VALIDATION_REQUIRED",
      "portLevelMtls needs a workload selector with labels: mesh-wide and namespace-wide policies cannot set per-port modes; add selector.matchLabels or move the ports into a workload policy",
    );
  }
  if (Object.keys(ports).length === 0) {
    ctx.error(
      ["spec", "portLevelMtls"],
      "CREMA_VALIDATION_REQUIRED",
      "portLevelMtls is empty; list at least one port or remove the field",
    );
  }
  for (const port of Object.keys(ports)) {
    const number = /^\d+$/.test(port) ? Number(port) : Number.NaN;
    if (!(number >= 1 && number <= 65535)) {
      ctx.error(
        ["spec", "portLevelMtls", port],
        "CREMA_VALIDATION_PORT",
        `portLevelMtls key ${JSON.stringify(port)} is not a port; use a workload port number from 1 to 65535`,
      );
    }
  }
};
