// Semantic validation of EnvoyFilter (Istio's validating-webhook rules).
import type { KindValidator } from "./context.ts";

export const validateEnvoyFilter: KindValidator = (_spec, _ctx) => {};
