// TLS material for grpc-js credentials that can change under a running server or channel.
import type * as grpc from "@grpc/grpc-js";

type Listener<T> = (update: T | null) => void;

/**
 * A certificate, its key and the roots to trust, as grpc-js watches them: the TLS credentials of
 * a server (the control plane's serving certificate) or of a channel (a proxy's workload
 * certificate for xDS), and every renewal reaches new handshakes without a restart.
 */
export class UpdatableCertificateProvider implements grpc.experimental.CertificateProvider {
  #identity: grpc.experimental.IdentityCertificateUpdate | null = null;
  #roots: grpc.experimental.CaCertificateUpdate | null = null;
  readonly #identityListeners = new Set<Listener<grpc.experimental.IdentityCertificateUpdate>>();
  readonly #rootListeners = new Set<Listener<grpc.experimental.CaCertificateUpdate>>();

  update(material: { certificateChainPem: string; privateKeyPem: string; rootsPem: string }): void {
    this.#identity = {
      certificate: Buffer.from(material.certificateChainPem),
      privateKey: Buffer.from(material.privateKeyPem),
    };
    this.#roots = { caCertificate: Buffer.from(material.rootsPem) };
    for (const listener of this.#rootListeners) listener(this.#roots);
    for (const listener of this.#identityListeners) listener(this.#identity);
  }

  // A new listener hears the current value on the next microtask: grpc-js registers its watcher
  // only after subscribing, so a synchronous call would be lost.
  addCaCertificateListener(listener: Listener<grpc.experimental.CaCertificateUpdate>): void {
    this.#rootListeners.add(listener);
    queueMicrotask(() => {
      if (this.#roots && this.#rootListeners.has(listener)) listener(this.#roots);
    });
  }

  removeCaCertificateListener(listener: Listener<grpc.experimental.CaCertificateUpdate>): void {
    this.#rootListeners.delete(listener);
  }

  addIdentityCertificateListener(
    listener: Listener<grpc.experimental.IdentityCertificateUpdate>,
  ): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.#identity && this.#identityListeners.has(listener)) listener(this.#identity);
    });
  }

  removeIdentityCertificateListener(
    listener: Listener<grpc.experimental.IdentityCertificateUpdate>,
  ): void {
    this.#identityListeners.delete(listener);
  }
}
