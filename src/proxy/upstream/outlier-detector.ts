// Envoy's consecutive-error outlier detection for one cluster: counts results, ejects, readmits on the interval.
import type { Clock, TimerHandle } from "../../base/clock.ts";
import type { OutlierDetectionConfig } from "./cluster-config.ts";
import { type Host, hostAddress } from "./lb/host-set.ts";
import { type RandomSource, randomBelow, randomSource } from "./lb/random-source.ts";

/** A failure before any response: no connection, the upstream timed out, or the stream was reset. */
export type LocalOriginFailure = "connect" | "timeout" | "reset";

export interface OutlierResult {
  /** The upstream's HTTP status (or the one a TCP proxy maps its outcome to). */
  status?: number;
  localOriginFailure?: LocalOriginFailure;
  /** "connect": connection established (HTTP then reports a status); "final": TCP, no status follows. */
  localOriginSuccess?: "connect" | "final";
}

export type EjectionReason =
  | "consecutive_5xx"
  | "consecutive_gateway_failure"
  | "consecutive_local_origin_failure";

export type OutlierEvent =
  | { type: "ejected"; host: Host; reason: EjectionReason; ejectionTimeMs: number }
  | { type: "unejected"; host: Host };

/**
 * What a cluster asks of its outlier detection: the detector itself on the proxy's main thread,
 * or a worker thread's view of it (results go to the main thread, ejections come back).
 */
export interface OutlierMonitor {
  onResult(host: Host, result: OutlierResult): void;
  isEjected(host: Host): boolean;
  ejectionCount(host: Host): number;
  readonly ejectedHosts: number;
  /** The cluster's hosts after an EDS update: sets each host's `ejected` from what is known. */
  setHosts(hosts: readonly Host[]): void;
  /** Events come after `host.ejected` changed; the listener rebuilds the load balancer. */
  subscribe(listener: (event: OutlierEvent) => void): () => void;
  stop(): void;
}

export interface OutlierDetectorOptions {
  clock: Clock;
  /** Decides enforcement (`random % 100 < enforcing_*`) and jitter; OS-seeded when unset. */
  random?: RandomSource;
}

interface Monitor {
  host: Host;
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  ejectedAt: number | undefined;
  lastUnejectedAt: number | undefined;
  /** The ejection-time multiplier: +1 per ejection (capped), −1 per healthy interval. */
  backoff: number;
  jitterMs: number;
  ejections: number;
}

/**
 * One cluster's detector (Envoy's Outlier::DetectorImpl, consecutive-error detectors only).
 * Ejection is inline when a consecutive threshold is reached; readmission and the decay of the
 * ejection-time multiplier happen on the interval timer. Subscribers get `ejected` and
 * `unejected` after `host.ejected` has changed and must then call the load balancer's update().
 */
export class OutlierDetector implements OutlierMonitor {
  private readonly config: OutlierDetectionConfig;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly monitors = new Map<string, Monitor>();
  private readonly listeners = new Set<(event: OutlierEvent) => void>();
  private timer: TimerHandle | undefined;
  private active = 0;

  constructor(config: OutlierDetectionConfig, options: OutlierDetectorOptions) {
    this.config = config;
    this.clock = options.clock;
    this.random = options.random ?? randomSource();
    this.arm();
  }

  subscribe(listener: (event: OutlierEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The cluster's hosts after an EDS update. State follows address:port, so a Host replaced by a
   * new object (see buildHostSet) keeps its counters and ejection; removed hosts are forgotten.
   */
  setHosts(hosts: readonly Host[]): void {
    const seen = new Set<string>();
    for (const host of hosts) {
      const key = hostAddress(host);
      seen.add(key);
      const monitor = this.monitors.get(key);
      if (monitor) {
        monitor.host = host;
        host.ejected = monitor.ejectedAt !== undefined;
      } else {
        host.ejected = false;
        this.monitors.set(key, newMonitor(host));
      }
    }
    for (const [key, monitor] of this.monitors) {
      if (seen.has(key)) continue;
      if (monitor.ejectedAt !== undefined) this.active--;
      this.monitors.delete(key);
    }
  }

  /** Records the outcome of one request (or connection) to `host`. */
  onResult(host: Host, result: OutlierResult): void {
    this.onResultAt(hostAddress(host), result);
  }

  /** Records an outcome reported by address (a worker thread's request to that host). */
  onResultAt(address: string, result: OutlierResult): void {
    const monitor = this.monitors.get(address);
    if (!monitor) return;
    const { localOriginFailure, localOriginSuccess, status } = result;
    if (this.config.splitExternalLocalOriginErrors) {
      if (localOriginFailure !== undefined) {
        monitor.consecutiveLocalOriginFailure++;
        if (monitor.consecutiveLocalOriginFailure === this.config.consecutiveLocalOriginFailure)
          this.onConsecutive(monitor, "consecutive_local_origin_failure");
      } else if (localOriginSuccess !== undefined) {
        monitor.consecutiveLocalOriginFailure = 0;
      }
      if (status !== undefined) this.onStatus(monitor, status);
      return;
    }
    // Without the split, local-origin outcomes count as the status Envoy maps them to.
    if (status !== undefined) this.onStatus(monitor, status);
    else if (localOriginFailure !== undefined)
      this.onStatus(monitor, localOriginFailure === "timeout" ? 504 : 503);
    else if (localOriginSuccess === "final") this.onStatus(monitor, 200);
  }

  isEjected(host: Host): boolean {
    return this.monitors.get(hostAddress(host))?.ejectedAt !== undefined;
  }

  /** How many times `host` has been ejected (Envoy's num_ejections). */
  ejectionCount(host: Host): number {
    return this.monitors.get(hostAddress(host))?.ejections ?? 0;
  }

  get ejectedHosts(): number {
    return this.active;
  }

  /** Stops the interval timer (the cluster is gone or replaced). */
  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private onStatus(monitor: Monitor, status: number): void {
    if (status < 500 || status > 599) {
      monitor.consecutive5xx = 0;
      monitor.consecutiveGatewayFailure = 0;
      return;
    }
    if (status >= 502 && status <= 504) {
      monitor.consecutiveGatewayFailure++;
      if (monitor.consecutiveGatewayFailure === this.config.consecutiveGatewayFailure)
        this.onConsecutive(monitor, "consecutive_gateway_failure");
    } else {
      monitor.consecutiveGatewayFailure = 0;
    }
    monitor.consecutive5xx++;
    if (monitor.consecutive5xx === this.config.consecutive5xx)
      this.onConsecutive(monitor, "consecutive_5xx");
  }

  // Envoy's onConsecutiveErrorWorker: an ejected host is left alone (its counter keeps running
  // past the threshold, so it cannot fire again until readmission resets it); otherwise try to
  // eject and reset the counter either way.
  private onConsecutive(monitor: Monitor, reason: EjectionReason): void {
    if (monitor.ejectedAt !== undefined) return;
    this.eject(monitor, reason);
    if (reason === "consecutive_5xx") monitor.consecutive5xx = 0;
    else if (reason === "consecutive_gateway_failure") monitor.consecutiveGatewayFailure = 0;
    else monitor.consecutiveLocalOriginFailure = 0;
  }

  private enforcing(reason: EjectionReason): number {
    if (reason === "consecutive_5xx") return this.config.enforcingConsecutive5xx;
    if (reason === "consecutive_gateway_failure")
      return this.config.enforcingConsecutiveGatewayFailure;
    return this.config.enforcingConsecutiveLocalOriginFailure;
  }

  private eject(monitor: Monitor, reason: EjectionReason): void {
    const { baseEjectionTimeMs, maxEjectionPercent, maxEjectionTimeJitterMs } = this.config;
    const ejectedPercent = (100 * (this.active + 1)) / this.monitors.size;
    const allowed =
      ejectedPercent <= Math.min(100, maxEjectionPercent) ||
      (this.config.alwaysEjectOneHost && this.active === 0);
    if (!allowed) return; // Envoy counts this as ejections_overflow.
    if (randomBelow(this.random.nextUint32(), 100) >= this.enforcing(reason)) return;
    this.active++;
    monitor.ejectedAt = this.clock.now();
    monitor.ejections++;
    monitor.jitterMs =
      maxEjectionTimeJitterMs > 0
        ? randomBelow(this.random.nextUint32(), maxEjectionTimeJitterMs + 1)
        : 0;
    if (monitor.backoff * baseEjectionTimeMs < this.config.maxEjectionTimeMs + baseEjectionTimeMs)
      monitor.backoff++;
    monitor.host.ejected = true;
    this.emit({
      type: "ejected",
      host: monitor.host,
      reason,
      ejectionTimeMs: this.ejectionTime(monitor),
    });
  }

  /** base × multiplier, capped at max(base, max_ejection_time), plus this ejection's jitter. */
  private ejectionTime(monitor: Monitor): number {
    const { baseEjectionTimeMs: base, maxEjectionTimeMs: max } = this.config;
    return Math.min(base * monitor.backoff, Math.max(base, max)) + monitor.jitterMs;
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => this.onInterval(), this.config.intervalMs);
  }

  private onInterval(): void {
    const now = this.clock.now();
    for (const monitor of this.monitors.values()) {
      if (monitor.ejectedAt === undefined) {
        // Healthy for a whole interval since the last readmission: decay the multiplier.
        if (
          monitor.lastUnejectedAt !== undefined &&
          now - monitor.lastUnejectedAt >= this.config.intervalMs &&
          monitor.backoff > 0
        )
          monitor.backoff--;
        continue;
      }
      if (now - monitor.ejectedAt < this.ejectionTime(monitor)) continue;
      this.active--;
      monitor.ejectedAt = undefined;
      monitor.lastUnejectedAt = now;
      // Fresh counters so a few new errors do not re-eject at once.
      monitor.consecutive5xx = 0;
      monitor.consecutiveGatewayFailure = 0;
      monitor.consecutiveLocalOriginFailure = 0;
      monitor.host.ejected = false;
      this.emit({ type: "unejected", host: monitor.host });
    }
    this.arm();
  }

  private emit(event: OutlierEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function newMonitor(host: Host): Monitor {
  return {
    host,
    consecutive5xx: 0,
    consecutiveGatewayFailure: 0,
    consecutiveLocalOriginFailure: 0,
    ejectedAt: undefined,
    lastUnejectedAt: undefined,
    backoff: 0,
    jitterMs: 0,
    ejections: 0,
  };
}
