// A worker thread's outlier detection for one cluster: results go to the main thread's detector
// (Envoy's workers report to the main thread's detector too), and its ejections and
// readmissions come back and flip the worker's hosts.
import { type Host, hostAddress } from "../upstream/lb/host-set.ts";
import type { OutlierEvent, OutlierMonitor, OutlierResult } from "../upstream/outlier-detector.ts";
import type { OutlierDecision } from "./worker-messages.ts";

export class RemoteOutlierMonitor implements OutlierMonitor {
  private readonly report: (address: string, result: OutlierResult) => void;
  private readonly hosts = new Map<string, Host>();
  private readonly ejected = new Set<string>();
  private readonly ejections = new Map<string, number>();
  private readonly listeners = new Set<(event: OutlierEvent) => void>();

  constructor(report: (address: string, result: OutlierResult) => void) {
    this.report = report;
  }

  onResult(host: Host, result: OutlierResult): void {
    this.report(hostAddress(host), result);
  }

  isEjected(host: Host): boolean {
    return this.ejected.has(hostAddress(host));
  }

  ejectionCount(host: Host): number {
    return this.ejections.get(hostAddress(host)) ?? 0;
  }

  get ejectedHosts(): number {
    return this.ejected.size;
  }

  setHosts(hosts: readonly Host[]): void {
    this.hosts.clear();
    for (const host of hosts) {
      const address = hostAddress(host);
      this.hosts.set(address, host);
      host.ejected = this.ejected.has(address);
    }
    for (const address of this.ejected) if (!this.hosts.has(address)) this.ejected.delete(address);
    for (const address of this.ejections.keys())
      if (!this.hosts.has(address)) this.ejections.delete(address);
  }

  /** What the main thread's detector decided about `address`. */
  apply(address: string, decision: OutlierDecision): void {
    const host = this.hosts.get(address);
    if (!host) return;
    this.ejections.set(address, decision.ejections);
    if (decision.ejected === this.ejected.has(address)) return;
    if (decision.ejected) this.ejected.add(address);
    else this.ejected.delete(address);
    host.ejected = decision.ejected;
    const event: OutlierEvent = decision.ejected
      ? {
          type: "ejected",
          host,
          reason: decision.reason,
          ejectionTimeMs: decision.ejectionTimeMs,
        }
      : { type: "unejected", host };
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: (event: OutlierEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.listeners.clear();
  }
}
