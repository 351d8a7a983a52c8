// Semantic validation of WorkloadGroup (Istio's validating-webhook rules).
import type { KindValidator } from "./context.ts";

export const validateWorkloadGroup: KindValidator = (_spec, _ctx) => {};
