// The running CA: holds the current signing bundle, chooses plugged-in over self-signed the way
// istiod does (a `cacerts` directory with a signing key wins), and rotates a self-signed root
// when it is due. Everything that signs reads `bundle` at the moment it signs.
import { type Clock, systemClock, type TimerHandle } from "../base/clock.ts";
import type { Logger } from "../base/logger.ts";
import { type CaBundle, type CaMode, trustBundle } from "./ca-bundle.ts";
import type { KeyAlgorithm } from "./crypto-keys.ts";
import { hasPluggedInCa, loadPluggedInCa } from "./plugged-ca.ts";
import { createSelfSignedCa, loadOrCreateSelfSignedCa, writeSelfSignedCa } from "./root-ca.ts";
import { bundleRotationDue, rotateSelfSignedRoot } from "./root-rotation.ts";

/** How often a self-signed root is checked for rotation (Istio's default check interval). */
export const ROOT_CHECK_INTERVAL_MS = 3600 * 1000;

export interface CertificateAuthorityOptions {
  /** An operator's `cacerts` (Istio mounts /etc/cacerts); used when it holds ca-key.pem. */
  pluggedInDir?: string;
  /** Where the self-signed CA is kept across restarts; in memory only when absent. */
  selfSignedDir?: string;
  /** The mesh trust domain, written into a self-signed root. */
  trustDomain?: string;
  keyAlgorithm?: KeyAlgorithm;
  clock?: Clock;
  logger?: Logger;
}

export class CertificateAuthority {
  #bundle: CaBundle;
  readonly #dir: string | undefined;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #listeners = new Set<(bundle: CaBundle) => void>();
  #rotating: Promise<boolean> | undefined;

  constructor(
    bundle: CaBundle,
    options: { selfSignedDir?: string; clock?: Clock; logger?: Logger } = {},
  ) {
    this.#bundle = bundle;
    this.#dir = options.selfSignedDir;
    this.#clock = options.clock ?? systemClock();
    this.#logger = options.logger;
  }

  /** Plugged-in CA if `pluggedInDir` has a key, else the self-signed one (loaded or created). */
  static async load(options: CertificateAuthorityOptions = {}): Promise<CertificateAuthority> {
    const { pluggedInDir, selfSignedDir, clock, logger } = options;
    if (pluggedInDir !== undefined && (await hasPluggedInCa(pluggedInDir))) {
      const bundle = await loadPluggedInCa(pluggedInDir, { clock });
      logger?.info({ dir: pluggedInDir }, "CA: using the plugged-in signing certificate");
      return new CertificateAuthority(bundle, { clock, logger });
    }
    const selfSigned = {
      trustDomain: options.trustDomain,
      keyAlgorithm: options.keyAlgorithm,
      clock,
    };
    const bundle =
      selfSignedDir === undefined
        ? await createSelfSignedCa(selfSigned)
        : (await loadOrCreateSelfSignedCa(selfSignedDir, selfSigned)).bundle;
    const ca = new CertificateAuthority(bundle, { selfSignedDir, clock, logger });
    await ca.rotateRootIfDue();
    return ca;
  }

  get bundle(): CaBundle {
    return this.#bundle;
  }

  get mode(): CaMode {
    return this.#bundle.mode;
  }

  /** Every root workloads should trust; during a rotation overlap, the new root and the old. */
  trustBundle(): string[] {
    return trustBundle(this.#bundle);
  }

  /** Called with the new bundle after a root rotation. Returns a function that unsubscribes. */
  onBundleChange(listener: (bundle: CaBundle) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  rotationDue(): boolean {
    return bundleRotationDue(this.#bundle, this.#clock.now());
  }

  /** Rotates a self-signed root whose rotation is due; true when it did. */
  rotateRootIfDue(options: { newKey?: boolean } = {}): Promise<boolean> {
    if (this.#rotating === undefined && !this.rotationDue()) return Promise.resolve(false);
    this.#rotating ??= this.#rotate(options).finally(() => {
      this.#rotating = undefined;
    });
    return this.#rotating;
  }

  async #rotate(options: { newKey?: boolean }): Promise<boolean> {
    const next = await rotateSelfSignedRoot(this.#bundle, { clock: this.#clock, ...options });
    if (this.#dir !== undefined) await writeSelfSignedCa(this.#dir, next);
    this.#bundle = next;
    this.#logger?.info(
      { roots: next.rootsPem.length, notAfter: new Date(next.chainNotAfter).toISOString() },
      "CA: rotated the self-signed root; the previous root stays trusted until it expires",
    );
    for (const listener of this.#listeners) listener(next);
    return true;
  }

  /** Checks for a due rotation every `checkIntervalMs`; returns a function that stops it. */
  startRootRotation(checkIntervalMs = ROOT_CHECK_INTERVAL_MS): () => void {
    let timer: TimerHandle | undefined;
    const schedule = (): void => {
      timer = this.#clock.setTimeout(() => {
        schedule();
        this.rotateRootIfDue().catch((error: unknown) =>
          this.#logger?.error({ err: error }, "CA: root rotation failed"),
        );
      }, checkIntervalMs);
    };
    schedule();
    return () => {
      if (timer) this.#clock.clearTimeout(timer);
    };
  }
}
