// The agent's workload certificates (pilot-agent's SDS side, in the proxy's process): a key made
// in memory, a CSR for the workload's SPIFFE ID sent to the CA, and the answer served as the SDS
// secrets `default` and `ROOTCA` through the SecretProvider the transport sockets read. Renews at
// SECRET_GRACE_PERIOD_RATIO of the lifetime (± jitter); failures are logged and retried with
// back-off, never thrown; a certificate is kept until it expires. Timers run on an injected clock.
import { readFile } from "node:fs/promises";
import { type Clock, systemClock, type TimerHandle } from "../../base/clock.ts";
import type { Logger } from "../../base/logger.ts";
import { MAX_TIMER_MS } from "../../base/timer.ts";
import { DEFAULT_KEY_ALGORITHM, type KeyAlgorithm } from "../../ca/crypto-keys.ts";
import { type SpiffeIdentity, spiffeId } from "../../ca/spiffe.ts";
import {
  ROOT_CA_SECRET,
  type SecretProvider,
  type TlsCertificate,
  WORKLOAD_SECRET,
} from "../tls/secret-provider.ts";
import { decodeIssuedCertificate, type IssuedCertificate } from "./issued-certificate.ts";
import { type CertificateSigner, istioCaSigner } from "./istio-ca-client.ts";
import {
  type BackOff,
  DEFAULT_BACK_OFF,
  DEFAULT_GRACE_PERIOD_RATIO,
  DEFAULT_GRACE_PERIOD_RATIO_JITTER,
  renewalDelayMs,
  retryDelayMs,
} from "./renewal-schedule.ts";
import {
  DEFAULT_SECRET_TTL_MS,
  type WorkloadCertificateConfig,
} from "./workload-certificate-config.ts";
import { buildWorkloadCsr } from "./workload-csr.ts";

export interface WorkloadCertificatesOptions {
  /** Whose certificate: spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>. */
  identity: SpiffeIdentity;
  /** Calls the CA: `istioCaSigner(…)`. */
  signer: CertificateSigner;
  /** `ROOTCA` until the first answer: the roots the CA connection trusts (--ca-root-cert). */
  initialRootsPem?: string;
  /** ECC_SIGNATURE_ALGORITHM; default ECDSA P-256. */
  keyAlgorithm?: KeyAlgorithm;
  /** SECRET_TTL: the lifetime asked for; default 24 h. */
  ttlMs?: number;
  /** SECRET_GRACE_PERIOD_RATIO: renew when this share of the lifetime is left; default 0.5. */
  gracePeriodRatio?: number;
  /** SECRET_GRACE_PERIOD_RATIO_JITTER: ± this much on the ratio; default 0.01. */
  gracePeriodRatioJitter?: number;
  backOff?: BackOff;
  clock?: Clock;
  /** A number in [0, 1); default Math.random. */
  random?: () => number;
  logger: Logger;
  /** Told the outcome of every attempt and each expiry (tests, status views). */
  onEvent?: (event: WorkloadCertificateEvent) => void;
}

export type WorkloadCertificateEvent =
  | { kind: "issued"; certificate: IssuedCertificate; renewAt: number }
  | { kind: "failed"; reason: string; failures: number; retryAt: number }
  | { kind: "expired"; notAfter: number };

export interface WorkloadCertificatesStatus {
  readonly identity: string;
  readonly certificate: IssuedCertificate | undefined;
  readonly rootsPem: string | undefined;
  /** Failed attempts since the last success. */
  readonly failures: number;
  readonly lastError: string | undefined;
  /** When the next request to the CA is due (renewal or retry), epoch ms. */
  readonly nextAttemptAt: number | undefined;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The workload's certificate and roots, kept current by asking the CA; a SecretProvider. */
export class WorkloadCertificates implements SecretProvider {
  readonly identity: string;
  private readonly options: WorkloadCertificatesOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly listeners = new Set<() => void>();
  private readonly whenReady: Promise<void>;
  private markReady: () => void = () => {};
  private issued: IssuedCertificate | undefined;
  private tls: TlsCertificate | undefined;
  private roots: string | undefined;
  private failures = 0;
  private lastError: string | undefined;
  private nextAttemptAt: number | undefined;
  private attemptTimer: TimerHandle | undefined;
  private expiryTimer: TimerHandle | undefined;
  private started = false;
  private closed = false;

  constructor(options: WorkloadCertificatesOptions) {
    this.options = options;
    this.identity = spiffeId(
      options.identity.trustDomain,
      options.identity.namespace,
      options.identity.serviceAccount,
    );
    this.clock = options.clock ?? systemClock();
    this.random = options.random ?? Math.random;
    this.roots = options.initialRootsPem || undefined;
    this.whenReady = new Promise((resolve) => {
      this.markReady = resolve;
    });
  }

  /** Sends the first CSR; later ones follow by themselves. */
  start(): this {
    if (!this.started && !this.closed) {
      this.started = true;
      this.launch();
    }
    return this;
  }

  certificate(name: string): TlsCertificate | undefined {
    return name === WORKLOAD_SECRET ? this.tls : undefined;
  }

  trustedCa(name: string): string | undefined {
    return name === ROOT_CA_SECRET ? this.roots : undefined;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the first certificate is in hand (it never rejects: failures are retried). */
  ready(): Promise<void> {
    return this.whenReady;
  }

  status(): WorkloadCertificatesStatus {
    return {
      identity: this.identity,
      certificate: this.issued,
      rootsPem: this.roots,
      failures: this.failures,
      lastError: this.lastError,
      nextAttemptAt: this.nextAttemptAt,
    };
  }

  /** Stops renewing; the secrets stay readable. */
  close(): void {
    this.closed = true;
    this.cancel("attemptTimer");
    this.cancel("expiryTimer");
    this.nextAttemptAt = undefined;
  }

  /** One request at a time: the next is only armed once this one has ended. */
  private launch(): void {
    this.attempt().catch((error: unknown) => {
      this.options.logger.error({ err: error }, "workload certificate renewal failed unexpectedly");
    });
  }

  private async attempt(): Promise<void> {
    this.nextAttemptAt = undefined;
    const options = this.options;
    let certificate: IssuedCertificate;
    try {
      const csr = await buildWorkloadCsr(
        this.identity,
        options.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM,
      );
      const chain = await options.signer({
        csrPem: csr.csrPem,
        ttlMs: options.ttlMs ?? DEFAULT_SECRET_TTL_MS,
      });
      const decoded = decodeIssuedCertificate(chain, csr.privateKeyPem);
      if (!decoded.ok) throw new Error(decoded.reason);
      certificate = decoded.certificate;
      if (certificate.notAfter <= this.clock.now()) {
        throw new Error(
          `the CA answered a certificate that expired at ${new Date(certificate.notAfter).toISOString()}`,
        );
      }
    } catch (error) {
      if (!this.closed) this.failed(reasonOf(error));
      return;
    }
    if (!this.closed) this.install(certificate);
  }

  private install(certificate: IssuedCertificate): void {
    const now = this.clock.now();
    const renewAt =
      now +
      renewalDelayMs({
        issuedAt: now,
        notAfter: certificate.notAfter,
        now,
        gracePeriodRatio: this.options.gracePeriodRatio ?? DEFAULT_GRACE_PERIOD_RATIO,
        gracePeriodRatioJitter:
          this.options.gracePeriodRatioJitter ?? DEFAULT_GRACE_PERIOD_RATIO_JITTER,
        random: this.random,
      });
    const rotated = this.issued !== undefined;
    this.issued = certificate;
    this.tls = {
      certificateChainPem: certificate.certificateChainPem,
      privateKeyPem: certificate.privateKeyPem,
    };
    this.roots = certificate.rootsPem;
    this.failures = 0;
    this.lastError = undefined;
    this.schedule("attemptTimer", renewAt, () => this.launch());
    this.nextAttemptAt = renewAt;
    this.schedule("expiryTimer", certificate.notAfter, () => this.expire(certificate));
    this.options.logger.info(
      {
        identity: this.identity,
        serial: certificate.serialNumber,
        notAfter: new Date(certificate.notAfter).toISOString(),
        renewAt: new Date(renewAt).toISOString(),
      },
      rotated ? "workload certificate rotated" : "workload certificate issued",
    );
    this.options.onEvent?.({ kind: "issued", certificate, renewAt });
    this.markReady();
    this.notify();
  }

  private failed(reason: string): void {
    this.failures += 1;
    this.lastError = reason;
    const retryAt =
      this.clock.now() +
      retryDelayMs(this.failures, this.options.backOff ?? DEFAULT_BACK_OFF, this.random);
    this.schedule("attemptTimer", retryAt, () => this.launch());
    this.nextAttemptAt = retryAt;
    const kept = this.issued
      ? `; keeping the current certificate until ${new Date(this.issued.notAfter).toISOString()}`
      : "";
    this.options.logger.warn(
      {
        identity: this.identity,
        failures: this.failures,
        retryInMs: retryAt - this.clock.now(),
        reason,
      },
      `workload certificate request failed${kept}`,
    );
    this.options.onEvent?.({ kind: "failed", reason, failures: this.failures, retryAt });
  }

  private expire(certificate: IssuedCertificate): void {
    if (this.issued !== certificate) return;
    this.issued = undefined;
    this.tls = undefined;
    this.options.logger.error(
      { identity: this.identity, lastError: this.lastError },
      "workload certificate expired before it could be renewed; TLS that needs it fails until the CA answers",
    );
    this.options.onEvent?.({ kind: "expired", notAfter: certificate.notAfter });
    this.notify();
  }

  /** Arms a timer for an instant, in steps Node can honour (a 90-day certificate renews in 45). */
  private schedule(slot: "attemptTimer" | "expiryTimer", at: number, fire: () => void): void {
    this.cancel(slot);
    const step = (): void => {
      const wait = at - this.clock.now();
      this[slot] =
        wait > MAX_TIMER_MS
          ? this.clock.setTimeout(step, MAX_TIMER_MS)
          : this.clock.setTimeout(
              () => {
                this[slot] = undefined;
                fire();
              },
              Math.max(0, wait),
            );
    };
    step();
  }

  private cancel(slot: "attemptTimer" | "expiryTimer"): void {
    const timer = this[slot];
    if (timer) this.clock.clearTimeout(timer);
    this[slot] = undefined;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        this.options.logger.error({ err: error }, "a secret listener failed");
      }
    }
  }
}

/** A WorkloadCertificates that has sent its first CSR. */
export function startWorkloadCertificates(
  options: WorkloadCertificatesOptions,
): WorkloadCertificates {
  return new WorkloadCertificates(options).start();
}

/**
 * The provider `crema proxy` runs (not yet started): Istio's CSR API at the configured CA, with
 * the root file and the token file read again before each request.
 */
export function workloadCertificatesFromConfig(
  config: WorkloadCertificateConfig,
  deps: Pick<WorkloadCertificatesOptions, "logger" | "clock" | "onEvent">,
): WorkloadCertificates {
  const rootFile = config.caRootCertFile;
  const token = config.token;
  return new WorkloadCertificates({
    identity: config.identity,
    signer: istioCaSigner({
      address: config.caAddress,
      ...(config.caServerName !== undefined ? { serverName: config.caServerName } : {}),
      caRoots: async () => (rootFile === undefined ? undefined : readFile(rootFile, "utf8")),
      token: async () => ("value" in token ? token.value : readFile(token.file, "utf8")),
    }),
    ...(config.caRootsPem !== undefined ? { initialRootsPem: config.caRootsPem } : {}),
    keyAlgorithm: config.keyAlgorithm,
    ttlMs: config.ttlMs,
    gracePeriodRatio: config.gracePeriodRatio,
    gracePeriodRatioJitter: config.gracePeriodRatioJitter,
    ...deps,
  });
}
