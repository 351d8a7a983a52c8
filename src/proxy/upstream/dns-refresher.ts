// DNS for STRICT_DNS and LOGICAL_DNS clusters, as Envoy resolves them: a cluster warms until its
// first resolution attempt ends (a failure leaves it with no hosts), then re-resolves every
// dns_refresh_rate — or at the records' TTL with respect_dns_ttl — keeping the last good answer
// when a later lookup fails. STRICT_DNS makes a host of every address; LOGICAL_DNS of the first.
import { promises as dns, type RecordWithTtl } from "node:dns";
import { isIP } from "node:net";
import type { Clock, TimerHandle } from "../../base/clock.ts";
import { MAX_TIMER_MS } from "../../base/timer.ts";
import {
  type ClusterConfig,
  DEFAULT_DNS_REFRESH_RATE_MS,
  type DnsConfig,
} from "./cluster-config.ts";
import type { LoadAssignment } from "./decode-endpoints.ts";
import type { HostInit } from "./lb/host-set.ts";

export interface ResolvedAddress {
  address: string;
  /** 0 when the answer carried no TTL (e.g. from /etc/hosts). */
  ttlSeconds: number;
}

/** Resolves a hostname for one lookup family; rejects when nothing is found. */
export type DnsLookup = (
  hostname: string,
  family: DnsConfig["lookupFamily"],
) => Promise<ResolvedAddress[]>;

export interface DnsRefresherOptions {
  lookup?: DnsLookup;
  clock: Clock;
  /** Whether the cluster with this config is still the one in use (else its refresh stops). */
  isCurrent(config: ClusterConfig): boolean;
  /** A resolution (first or changed) for the cluster. */
  onResolved(clusterName: string, assignment: LoadAssignment): void;
}

interface Resolution {
  /** The cluster config now in use (an equivalent re-sent config takes over the resolution). */
  config: ClusterConfig;
  /** What the lookups depend on: discovery type, DNS settings and the inline endpoints. */
  inputs: string;
  /** Per endpoint of the inline assignment: its addresses from the last good lookup. */
  addresses: Map<string, ResolvedAddress[]>;
  assignment: LoadAssignment | undefined;
  timer: TimerHandle | undefined;
}

/** Envoy's lookup families: which answers to keep, in which order. */
export function selectAddresses(
  v4: readonly ResolvedAddress[],
  v6: readonly ResolvedAddress[],
  family: DnsConfig["lookupFamily"],
): ResolvedAddress[] {
  switch (family) {
    case "V4_ONLY":
      return [...v4];
    case "V6_ONLY":
      return [...v6];
    case "V4_PREFERRED":
      return v4.length ? [...v4] : [...v6];
    case "ALL":
      return [...v4, ...v6];
    default:
      return v6.length ? [...v6] : [...v4]; // AUTO prefers IPv6
  }
}

/** The system's resolver with TTLs; names only the hosts file knows fall back to getaddrinfo. */
export const systemDnsLookup: DnsLookup = async (hostname, family) => {
  const settle = async (query: Promise<RecordWithTtl[]>) =>
    (await query.catch(() => [])).map((r) => ({ address: r.address, ttlSeconds: r.ttl }));
  const [v4, v6] = await Promise.all([
    family === "V6_ONLY" ? [] : settle(dns.resolve4(hostname, { ttl: true })),
    family === "V4_ONLY" ? [] : settle(dns.resolve6(hostname, { ttl: true })),
  ]);
  let found = selectAddresses(v4, v6, family);
  if (!found.length) {
    const local = await dns.lookup(hostname, { all: true });
    found = selectAddresses(
      local.filter((a) => a.family === 4).map((a) => ({ address: a.address, ttlSeconds: 0 })),
      local.filter((a) => a.family === 6).map((a) => ({ address: a.address, ttlSeconds: 0 })),
      family,
    );
  }
  if (!found.length) throw new Error(`no ${family} addresses for ${hostname}`);
  return found;
};

const DEFAULT_DNS_CONFIG: DnsConfig = {
  refreshRateMs: DEFAULT_DNS_REFRESH_RATE_MS,
  respectDnsTtl: false,
  lookupFamily: "AUTO",
};

const endpointKey = (e: HostInit): string => `${e.address}:${e.port}`;

/** The hosts a resolution makes of the inline assignment's endpoints. */
function resolvedAssignment(
  config: ClusterConfig,
  inline: LoadAssignment,
  addresses: ReadonlyMap<string, readonly ResolvedAddress[]>,
): LoadAssignment {
  const endpoints: HostInit[] = [];
  for (const endpoint of inline.endpoints) {
    if (isIP(endpoint.address)) {
      endpoints.push(endpoint);
      continue;
    }
    const found = addresses.get(endpointKey(endpoint)) ?? [];
    const used = config.discovery === "LOGICAL_DNS" ? found.slice(0, 1) : found;
    for (const { address } of used)
      endpoints.push({ ...endpoint, address, hostname: endpoint.address });
  }
  return { ...inline, endpoints };
}

export class DnsRefresher {
  private readonly options: DnsRefresherOptions;
  private readonly lookup: DnsLookup;
  private readonly resolutions = new Map<string, Resolution>();

  constructor(options: DnsRefresherOptions) {
    this.options = options;
    this.lookup = options.lookup ?? systemDnsLookup;
  }

  /**
   * The ClusterManager's resolveDns seam: the endpoints to use now. Undefined (warming) until the
   * first lookup of this config ends; a new config for the same cluster resolves afresh.
   */
  readonly resolveDns = (
    config: ClusterConfig,
    inline: LoadAssignment,
  ): LoadAssignment | undefined => {
    const known = this.resolutions.get(config.name);
    if (known?.config === config) return known.assignment;
    const inputs = JSON.stringify([config.discovery, config.dns, inline.endpoints]);
    // State-of-the-world CDS re-sends every cluster: an equivalent config keeps its resolution.
    if (known?.inputs === inputs) {
      known.config = config;
      return known.assignment;
    }
    if (known?.timer) this.options.clock.clearTimeout(known.timer);
    const resolution: Resolution = {
      config,
      inputs,
      addresses: new Map(known?.addresses),
      assignment: undefined,
      timer: undefined,
    };
    this.resolutions.set(config.name, resolution);
    const names = inline.endpoints.filter((e) => !isIP(e.address));
    if (!names.length) {
      resolution.assignment = inline;
      return inline;
    }
    void this.refresh(resolution, inline, names);
    // A changed cluster keeps its previous hosts until the new lookups end, as Envoy's old cluster
    // serves while the new one warms; a new cluster warms.
    return known?.assignment;
  };

  /** Stops every refresh (proxy shutdown). */
  close(): void {
    for (const resolution of this.resolutions.values())
      if (resolution.timer) this.options.clock.clearTimeout(resolution.timer);
    this.resolutions.clear();
  }

  /** Looks up `names` (the inline endpoints that are hostnames), then schedules the next round. */
  private async refresh(
    resolution: Resolution,
    inline: LoadAssignment,
    names: readonly HostInit[],
  ): Promise<void> {
    const { config } = resolution;
    // The decoder gives every STRICT_DNS/LOGICAL_DNS cluster its DNS settings.
    const dnsConfig = config.dns ?? DEFAULT_DNS_CONFIG;
    let ttlSeconds = Number.POSITIVE_INFINITY;
    await Promise.all(
      names.map(async (endpoint) => {
        try {
          const found = await this.lookup(endpoint.address, dnsConfig.lookupFamily);
          resolution.addresses.set(endpointKey(endpoint), found);
          for (const { ttlSeconds: ttl } of found)
            if (ttl > 0) ttlSeconds = Math.min(ttlSeconds, ttl);
        } catch {
          // Envoy keeps the hosts of the last successful resolution.
        }
      }),
    );
    if (
      this.resolutions.get(config.name) !== resolution ||
      !this.options.isCurrent(resolution.config)
    )
      return;
    const assignment = resolvedAssignment(config, inline, resolution.addresses);
    const changed =
      resolution.assignment === undefined ||
      JSON.stringify(resolution.assignment.endpoints) !== JSON.stringify(assignment.endpoints);
    resolution.assignment = assignment;
    if (changed) this.options.onResolved(config.name, assignment);
    // Capped at node's timer limit (a longer delay would fire at once).
    const nextMs = Math.min(
      MAX_TIMER_MS,
      dnsConfig.respectDnsTtl && Number.isFinite(ttlSeconds)
        ? ttlSeconds * 1000
        : dnsConfig.refreshRateMs,
    );
    resolution.timer = this.options.clock.setTimeout(() => {
      resolution.timer = undefined;
      void this.refresh(resolution, inline, names);
    }, nextMs);
  }
}
