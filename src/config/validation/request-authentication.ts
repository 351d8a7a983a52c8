// Semantic validation of RequestAuthentication (Istio's validating-webhook rules).
import type { KindValidator } from "./context.ts";

export const validateRequestAuthentication: KindValidator = (_spec, _ctx) => {};
