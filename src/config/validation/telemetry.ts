// Semantic validation of Telemetry (Istio's validating-webhook rules).
import type { KindValidator } from "./context.ts";

export const validateTelemetry: KindValidator = (_spec, _ctx) => {};
