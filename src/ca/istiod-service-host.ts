// The control plane's service name, the one name both sides agree on: crema's CA puts it in the
// control plane's serving certificate, and a proxy that dials the CA by address checks it there.
// Its own module so that the proxy learns the name without loading the CA's issuing code.

/** The name proxies use for the control plane (Istio's `istiod.istio-system.svc`). */
export const ISTIOD_SERVICE_HOST = "istiod.istio-system.svc";
