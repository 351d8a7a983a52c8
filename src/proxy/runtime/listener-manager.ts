// LDS for the proxy: decoded listeners become bound sockets; each connection is inspected, matched
// to a filter chain and handed to its network filter (HTTP connection manager or TCP proxy).
// A listener warms until its RDS route tables arrive; an update that changes only filter chains
// keeps the connections of unchanged chains and drains those of removed or changed ones (Envoy's
// filter-chain-only update), any other update drains the whole listener; a removed one drains and
// closes. A chain with a DownstreamTlsContext terminates TLS first and serves the decrypted stream.

import { createServer, type Server, type Socket } from "node:net";
import { compareStrings } from "../../base/compare.ts";
import type { Logger } from "../../base/logger.ts";
import { setTimeoutMs } from "../../base/timer.ts";
import type { ApplyResult, ResourceUpdate, TypeHandler } from "../../xds/client/types.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { HcmDeps } from "../hcm/hcm-types.ts";
import { decodeListener } from "../listener/decode-listener.ts";
import { selectFilterChain } from "../listener/index.ts";
import type { ConnectionInfo, FilterChain, ListenerConfig } from "../listener/types.ts";
import type { SecretProvider } from "../tls/secret-provider.ts";
import { ChainRuntime, needsH2cSniff, type StartTcpProxy } from "./chain-runtime.ts";
import { inspectConnection } from "./inspect-connection.ts";
import { type ListenerStats, listenerStats } from "./listener-stats.ts";
import type { RouteStore } from "./route-store.ts";

export type { StartTcpProxy } from "./chain-runtime.ts";

export interface ListenerManagerOptions {
  hcm: Omit<HcmDeps, "routeConfig">;
  routes: RouteStore;
  startTcpProxy: StartTcpProxy;
  /** The RDS names every listener needs; the proxy subscribes to exactly these. */
  onRdsNames(names: ReadonlySet<string>): void;
  /** How long a draining listener or filter chain keeps serving before its connections close. */
  drainTimeMs: number;
  logger: Logger;
  /** A listener's socket finished binding (or failed to): readiness may have changed. */
  onBound?: () => void;
  /** TLS material for chains that terminate TLS (SDS `default`, `ROOTCA`); default none. */
  secrets?: SecretProvider;
  /**
   * Bind with SO_REUSEPORT, so that each of the proxy's worker threads holds its own socket on
   * the listener's address and the kernel spreads connections over them (Envoy's reuse_port).
   */
  reusePort?: boolean;
  /**
   * The port to bind for a listener whose address says port 0: a worker thread binds the port
   * the main thread's socket got. Default: 0 (any free port).
   */
  portForAnyPort?: (listenerName: string, listenerJson: string) => Promise<number>;
  /** A listener whose address says port 0 bound this port (the main thread tells its workers). */
  onAnyPortBound?: (listenerName: string, listenerJson: string, port: number) => void;
  /** The thread this manager accepts on, for per-worker listener stats (0: the main thread). */
  workerIndex?: number;
}

/**
 * A filter chain's identity across updates: its whole content, as Envoy compares FilterChain
 * protos. Decoded chains are plain data built in a fixed field order, so equal content gives
 * equal text.
 */
function chainKey(chain: FilterChain): string {
  return JSON.stringify(chain);
}

/**
 * What an update may not change for the listener to keep its connections: everything but its
 * filter chains (Envoy's ListenerMessageUtil::filterChainOnlyChange ignores exactly these).
 */
function listenerShellKey(json: JsonObject): string {
  const {
    filter_chains: _chains,
    default_filter_chain: _default,
    filter_chain_matcher: _matcher,
    ...shell
  } = json;
  return JSON.stringify(shell);
}

/** How often, and how far apart, a bind that found its address still in use is retried. */
const BIND_RETRIES = 20;
const BIND_RETRY_DELAY_MS = 50;

/** A listener's socket, handed from config to config as updates adopt it (even mid-bind). */
interface ListenerSocket {
  readonly server: Server;
  /** The listener the socket's events and connections belong to now. */
  owner: ActiveListener;
  /** listen() has neither succeeded nor failed yet (nor was the socket closed). */
  binding: boolean;
}

class ActiveListener {
  config: ListenerConfig;
  readonly json: string;
  /** The listener without its filter chains (see listenerShellKey). */
  private readonly shell: string;
  private readonly manager: ListenerManager;
  private socket: ListenerSocket | undefined;
  private readonly chainKeys = new Map<FilterChain, string>();
  /** Runtimes by chain key: those of this config's chains, or of removed ones while draining. */
  private readonly runtimes = new Map<string, ChainRuntime>();
  /** Connections whose first bytes are still awaited: no filter chain owns them yet. */
  private readonly inspecting = new Set<Socket>();
  /** The listener a filter-chain-only update handed this one's connections to. */
  private successor: ActiveListener | undefined;
  boundAddress: string | undefined;
  /** listen() failed for good: the listener accepts nothing, so the proxy is not ready. */
  bindFailed = false;
  private stats: ListenerStats | undefined;

  constructor(manager: ListenerManager, config: ListenerConfig, json: string, shell: string) {
    this.manager = manager;
    this.config = config;
    this.json = json;
    this.shell = shell;
    for (const chain of this.chains()) this.chainKeys.set(chain, chainKey(chain));
  }

  private chains(): FilterChain[] {
    const def = this.config.defaultFilterChain;
    return def ? [...this.config.filterChains, def] : this.config.filterChains;
  }

  /** The listener now serving what this one accepted (itself unless an update took over). */
  private current(): ActiveListener {
    let listener: ActiveListener = this;
    while (listener.successor) listener = listener.successor;
    return listener;
  }

  bind(logger: Logger): void {
    const address = this.config.address;
    if (!this.config.bindToPort || !address) return;
    const server = createServer({ pauseOnConnect: true, noDelay: true });
    // listen() completes asynchronously; the proxy is ready only once its listeners accept.
    const record: ListenerSocket = { server, owner: this, binding: true };
    server.on("connection", (socket) => record.owner.onConnection(socket));
    const settled = (): void => {
      if (!record.binding) return;
      record.binding = false;
      this.manager.options.onBound?.();
    };
    const { reusePort, portForAnyPort, onAnyPortBound } = this.manager.options;
    let port: number | Promise<number> = address.port;
    if (port === 0 && portForAnyPort) port = portForAnyPort(this.config.name, this.json);
    const listen = (): void => {
      if (typeof port === "number") {
        server.listen({ host: address.address, port, ...(reusePort ? { reusePort } : {}) });
        return;
      }
      void port.then((chosen) => {
        port = chosen;
        if (record.binding) listen();
      });
    };
    let retries = 0;
    server.on("error", (err: NodeJS.ErrnoException) => {
      // A listener replacing one on the same address binds while the old socket is still being
      // released (closing a handle completes on a later tick), so EADDRINUSE is retried a while.
      if (err.code === "EADDRINUSE" && retries < BIND_RETRIES && record.binding) {
        retries++;
        setTimeout(() => {
          if (record.binding) listen();
        }, BIND_RETRY_DELAY_MS).unref();
        return;
      }
      const owner = record.owner;
      if (!record.binding) {
        logger.error({ listener: owner.config.name, err: err.message }, "listener socket error");
        return;
      }
      owner.bindFailed = true;
      logger.error({ listener: owner.config.name, err: err.message }, "listener failed to bind");
      settled();
    });
    server.once("listening", () => {
      const bound = server.address();
      const owner = record.owner;
      if (bound && typeof bound === "object") {
        owner.boundAddress = `${bound.address}:${bound.port}`;
        if (address.port === 0) onAnyPortBound?.(this.config.name, this.json, bound.port);
      }
      settled();
    });
    this.socket = record;
    listen();
  }

  /** listen() was called and has neither succeeded nor failed yet (an adopted socket too). */
  get binding(): boolean {
    return this.socket?.binding ?? false;
  }

  /**
   * Takes over an updated config on the same socket. When only filter chains changed (Envoy's
   * filter-chain-only update) the chains the new config keeps unchanged move over with their
   * connections, and only removed or changed chains drain; otherwise every chain drains.
   */
  adopt(next: ActiveListener): void {
    next.socket = this.socket;
    next.boundAddress = this.boundAddress;
    if (this.socket) this.socket.owner = next;
    this.socket = undefined;
    if (next.shell === this.shell) {
      const kept = new Set(next.chainKeys.values());
      for (const [key, runtime] of this.runtimes) {
        if (!kept.has(key)) continue;
        next.runtimes.set(key, runtime);
        this.runtimes.delete(key);
      }
      // Listener filters are unchanged, so connections still being inspected are matched
      // against the new chains once their bytes arrive.
      for (const socket of this.inspecting) next.inspecting.add(socket);
      this.inspecting.clear();
      this.successor = next;
    }
    this.drainThenClose();
  }

  private runtimeFor(chain: FilterChain): ChainRuntime {
    const key = this.chainKeys.get(chain) ?? chainKey(chain);
    let runtime = this.runtimes.get(key);
    if (!runtime) {
      const { hcmDeps, options } = this.manager;
      runtime = new ChainRuntime({
        hcmDeps,
        startTcpProxy: options.startTcpProxy,
        logger: options.logger,
        secrets: options.secrets,
      });
      this.runtimes.set(key, runtime);
    }
    return runtime;
  }

  private onConnection(socket: Socket): void {
    socket.on("error", () => {});
    const address = this.config.address;
    if (address) {
      const { hcm, workerIndex } = this.manager.options;
      this.stats ??= listenerStats(hcm.stats, address, workerIndex ?? 0);
      const stats = this.stats;
      stats.downstreamCxTotal.inc();
      stats.downstreamCxActive.inc();
      stats.workerDownstreamCxTotal.inc();
      stats.workerDownstreamCxActive.inc();
      socket.once("close", () => {
        stats.downstreamCxActive.dec();
        stats.workerDownstreamCxActive.dec();
      });
    }
    this.inspecting.add(socket);
    // Asked only when no listener filter reads the first bytes, so the connection's info is final
    // and the chain picked here serves it, unless an update replaced the config meanwhile.
    let selected: { config: ListenerConfig; chain: FilterChain | undefined } | undefined;
    inspectConnection(socket, this.config, {
      // Only an HCM with codec AUTO decides HTTP/1 vs HTTP/2 from the client's first bytes; any
      // other chain is handed the socket at once (server-first protocols must not wait).
      sniffH2c: (info) => {
        const config = this.current().config;
        selected = { config, chain: selectFilterChain(config, info) };
        return needsH2cSniff(selected.chain);
      },
    }).then(
      ({ info, h2c }) => {
        const owner = this.current();
        owner.inspecting.delete(socket);
        if (socket.destroyed) return;
        // Whatever a config makes the chain's setup throw must cost this connection, not the
        // process (this runs in a promise: a throw would be an unhandled rejection).
        try {
          const chain =
            selected?.config === owner.config
              ? selected.chain
              : selectFilterChain(owner.config, info);
          owner.dispatch(socket, chain, info, h2c);
        } catch (err) {
          this.manager.options.logger.error(
            { listener: owner.config.name, err: err instanceof Error ? err.message : String(err) },
            "connection setup failed",
          );
          socket.destroy();
        }
      },
      () => {
        this.current().inspecting.delete(socket);
        socket.destroy();
      },
    );
  }

  /** Hands an inspected connection to its filter chain's runtime. */
  private dispatch(
    socket: Socket,
    chain: FilterChain | undefined,
    info: ConnectionInfo,
    h2c: boolean,
  ): void {
    const filter = chain?.filters.at(-1);
    if (
      !chain ||
      !filter ||
      (filter.kind !== "http_connection_manager" && filter.kind !== "tcp_proxy")
    ) {
      // No chain: Envoy closes the connection. Its listener filters only peeked at what the
      // client sent, so the kernel resets a connection closed with those bytes unread (a
      // plaintext client of a STRICT mTLS port sees "connection reset"); here they were read,
      // so the reset is explicit.
      if (socket.readableLength > 0) socket.resetAndDestroy();
      else socket.destroy();
      return;
    }
    this.runtimeFor(chain).accept(this.config, chain, socket, info, h2c);
  }

  routeNames(): string[] {
    const names: string[] = [];
    for (const chain of this.chains())
      for (const filter of chain.filters)
        if (filter.kind === "http_connection_manager" && filter.config.routes.kind === "rds")
          names.push(filter.config.routes.routeConfigName);
    return names;
  }

  drainThenClose(): void {
    // Envoy stops accepting on a drained listener at once (its address may be taken by a
    // replacement); only the connections it already has keep draining.
    this.stopAccepting();
    this.drain();
    this.manager.draining.add(this);
    // A drain time of 0 closes on the next timer tick (Node runs a 0 ms timer after 1 ms); one too
    // long for Node's timers never fires.
    setTimeoutMs(() => this.close(), Math.max(this.manager.options.drainTimeMs, 1))?.unref();
  }

  drain(): void {
    for (const runtime of this.runtimes.values()) runtime.drain();
  }

  private stopAccepting(): void {
    if (!this.socket) return;
    this.socket.binding = false;
    this.socket.server.close();
    this.socket = undefined;
  }

  close(): void {
    this.manager.draining.delete(this);
    this.stopAccepting();
    for (const runtime of this.runtimes.values()) runtime.close();
    this.runtimes.clear();
    // A client that connected but never spoke would otherwise outlive the listener (and keep a
    // shutting-down proxy's process alive); Envoy closes every connection of a removed listener.
    for (const socket of this.inspecting) socket.destroy();
    this.inspecting.clear();
  }
}

export interface ListenerStatus {
  name: string;
  address?: { address: string; port: number };
  boundAddress?: string;
  warming: boolean;
}

export class ListenerManager {
  readonly options: ListenerManagerOptions;
  readonly hcmDeps: HcmDeps;
  private readonly active = new Map<string, ActiveListener>();
  private readonly warming = new Map<string, ActiveListener>();
  /** Replaced or removed listeners still draining their connections. */
  readonly draining = new Set<ActiveListener>();
  private lastRdsNames = "";

  constructor(options: ListenerManagerOptions) {
    this.options = options;
    this.hcmDeps = { ...options.hcm, routeConfig: (name) => options.routes.get(name) };
    options.routes.onChange(() => this.promoteWarm());
  }

  handler(): TypeHandler {
    return { apply: (update) => this.apply(update) };
  }

  /** No listener is waiting for its route tables or for its socket to bind. */
  ready(): boolean {
    if (this.warming.size > 0) return false;
    for (const listener of this.active.values())
      if (listener.binding || listener.bindFailed) return false;
    return true;
  }

  statuses(): ListenerStatus[] {
    const out: ListenerStatus[] = [];
    for (const [map, warming] of [
      [this.active, false],
      [this.warming, true],
    ] as const) {
      for (const [name, l] of map) {
        const status: ListenerStatus = { name, warming };
        if (l.config.address) status.address = l.config.address;
        if (l.boundAddress) status.boundAddress = l.boundAddress;
        out.push(status);
      }
    }
    return out.sort((a, b) => compareStrings(a.name, b.name));
  }

  warmingNames(): string[] {
    return [...this.warming.keys()].sort();
  }

  drain(): void {
    for (const l of this.active.values()) l.drain();
  }

  close(): void {
    for (const l of [...this.active.values(), ...this.warming.values(), ...this.draining])
      l.close();
    this.active.clear();
    this.warming.clear();
  }

  private apply(update: ResourceUpdate): ApplyResult {
    const errors: string[] = [];
    const decoded: ActiveListener[] = [];
    for (const [name, json] of update.added) {
      const text = JSON.stringify(json);
      const current = this.warming.get(name) ?? this.active.get(name);
      if (current && current.json === text) continue;
      const result = decodeListener(json);
      if (!result.ok) {
        errors.push(...result.errors.map((e) => `${name}: ${e}`));
        continue;
      }
      decoded.push(new ActiveListener(this, result.value, text, listenerShellKey(json)));
    }
    if (errors.length > 0) return { errors };
    const removed = new Set(update.removed);
    if (update.full)
      for (const name of [...this.active.keys(), ...this.warming.keys()])
        if (!update.added.has(name)) removed.add(name);
    for (const name of removed) {
      this.warming.get(name)?.close();
      this.warming.delete(name);
      this.active.get(name)?.drainThenClose();
      this.active.delete(name);
    }
    for (const listener of decoded) {
      this.warming.get(listener.config.name)?.close();
      this.warming.set(listener.config.name, listener);
    }
    this.notifyRdsNames();
    this.promoteWarm();
    return { errors: [] };
  }

  private promoteWarm(): void {
    for (const [name, listener] of this.warming) {
      if (!listener.routeNames().every((r) => this.options.routes.has(r))) continue;
      this.warming.delete(name);
      const old = this.active.get(name);
      const sameAddress =
        old &&
        JSON.stringify(old.config.address) === JSON.stringify(listener.config.address) &&
        old.config.bindToPort === listener.config.bindToPort;
      // A socket that never bound cannot be adopted: the new config tries binding afresh.
      if (old && sameAddress && !old.bindFailed) old.adopt(listener);
      else {
        old?.drainThenClose();
        listener.bind(this.options.logger);
      }
      this.active.set(name, listener);
    }
  }

  private notifyRdsNames(): void {
    const names = new Set<string>();
    for (const l of [...this.active.values(), ...this.warming.values()])
      for (const n of l.routeNames()) names.add(n);
    const key = [...names].sort().join("\n");
    if (key === this.lastRdsNames) return;
    this.lastRdsNames = key;
    this.options.onRdsNames(names);
  }
}
