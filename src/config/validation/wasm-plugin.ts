// Semantic validation of WasmPlugin (Istio's validating-webhook rules).
import type { KindValidator } from "./context.ts";

export const validateWasmPlugin: KindValidator = (_spec, _ctx) => {};
