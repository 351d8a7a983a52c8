// Semantic validation of Gateway (Istio's validating-webhook rules).
import type { KindValidator } from "./context.ts";

export const validateGateway: KindValidator = (_spec, _ctx) => {};
