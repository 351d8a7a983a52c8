// Semantic validation of WorkloadEntry (Istio's validating-webhook and CRD rules): an address
// (IP, host name or Unix socket) or a network, valid ports, labels and weight.
import type { KindValidator } from "./context.ts";
import { checkWorkloadFields } from "./workload-entry-fields.ts";

export const validateWorkloadEntry: KindValidator = (spec, ctx) => {
  checkWorkloadFields(ctx, ["spec"], spec, { mode: "entry" });
};
