// Semantic validation of PeerAuthentication (Istio's validating-webhook rules).
import type { KindValidator } from "./context.ts";

export const validatePeerAuthentication: KindValidator = (_spec, _ctx) => {};
