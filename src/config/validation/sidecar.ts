// Semantic validation of Sidecar (Istio's validating-webhook rules).
import type { KindValidator } from "./context.ts";

export const validateSidecar: KindValidator = (_spec, _ctx) => {};
