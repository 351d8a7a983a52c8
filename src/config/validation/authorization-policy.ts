// Semantic validation of AuthorizationPolicy (Istio's validating-webhook rules).
import type { KindValidator } from "./context.ts";

export const validateAuthorizationPolicy: KindValidator = (_spec, _ctx) => {};
