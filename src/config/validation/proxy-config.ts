// Semantic validation of ProxyConfig (Istio's validating-webhook and CRD rules): a
// non-negative concurrency and a well-formed workload selector. Any image type is accepted
// (Istio allows types beyond default, debug and distroless if the hub publishes them).
import { checkPolicySelector } from "./authorization-policy-scope.ts";
import type { KindValidator } from "./context.ts";

export const validateProxyConfig: KindValidator = (spec, ctx) => {
  checkPolicySelector(ctx, ["spec", "selector"], spec.selector);
  const concurrency = spec.concurrency;
  if (typeof concurrency === "number" && concurrency < 0) {
    ctx.error(
      ["spec", "concurrency"],
      "CREMA_VALIDATION_RANGE",
      `concurrency ${concurrency} is negative; use 0 to size the worker threads from the CPU limits, or a positive thread count`,
    );
  }
};
