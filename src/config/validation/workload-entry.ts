// Semantic validation of WorkloadEntry (Istio's validating-webhook rules).
import type { KindValidator } from "./context.ts";

export const validateWorkloadEntry: KindValidator = (_spec, _ctx) => {};
