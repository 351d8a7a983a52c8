// Where a proxy's TLS material comes from: the SDS secrets Istio names `default` (the workload's
// certificate chain and key) and `ROOTCA` (the roots to trust), served in Istio by the agent
// over a local SDS socket and in crema by the agent in the same process. Transport sockets ask
// for secrets by name; a rotation notifies them so new handshakes use the new material while
// established connections keep theirs.

/** The SDS name of the workload certificate (Istio's `default`). */
export const WORKLOAD_SECRET = "default";
/** The SDS name of the trusted roots (Istio's `ROOTCA`). */
export const ROOT_CA_SECRET = "ROOTCA";

export interface TlsCertificate {
  /** Leaf first, then intermediates (PEM). */
  certificateChainPem: string;
  privateKeyPem: string;
}

export interface SecretProvider {
  /** A certificate secret by name (`default`), or undefined until it is available. */
  certificate(name: string): TlsCertificate | undefined;
  /** A validation-context secret by name (`ROOTCA`): trusted roots (PEM), or undefined. */
  trustedCa(name: string): string | undefined;
  /** Calls `listener` after any secret changed; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/** A provider with no secrets: TLS that needs one fails its handshakes until it has them. */
export const NO_SECRETS: SecretProvider = {
  certificate: () => undefined,
  trustedCa: () => undefined,
  onChange: () => () => {},
};
