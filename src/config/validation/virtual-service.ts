// Semantic validation of VirtualService (Istio's validating-webhook rules).
import type { KindValidator } from "./context.ts";

export const validateVirtualService: KindValidator = (_spec, _ctx) => {};
