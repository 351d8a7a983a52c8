// A worker thread's TLS material: what the main thread's agent holds, forwarded on every change.
import type { SecretProvider, TlsCertificate } from "../tls/secret-provider.ts";
import type { ForwardedSecrets } from "./worker-messages.ts";

export class ForwardedSecretProvider implements SecretProvider {
  private secrets: ForwardedSecrets;
  private readonly listeners = new Set<() => void>();

  constructor(initial: ForwardedSecrets) {
    this.secrets = initial;
  }

  certificate(name: string): TlsCertificate | undefined {
    return this.secrets.certificates[name];
  }

  trustedCa(name: string): string | undefined {
    return this.secrets.trustedCas[name];
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  replace(secrets: ForwardedSecrets): void {
    this.secrets = secrets;
    for (const listener of this.listeners) listener();
  }
}

/** The secrets a provider holds under the names the proxy's transport sockets ask for. */
export function forwardableSecrets(
  provider: SecretProvider,
  certificateNames: readonly string[],
  trustedCaNames: readonly string[],
): ForwardedSecrets {
  const certificates: Record<string, TlsCertificate> = {};
  const trustedCas: Record<string, string> = {};
  for (const name of certificateNames) {
    const certificate = provider.certificate(name);
    if (certificate) certificates[name] = certificate;
  }
  for (const name of trustedCaNames) {
    const ca = provider.trustedCa(name);
    if (ca !== undefined) trustedCas[name] = ca;
  }
  return { certificates, trustedCas };
}
