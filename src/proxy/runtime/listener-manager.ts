// LDS for the proxy: decoded listeners become bound sockets; each connection is inspected, matched
// to a filter chain and handed to its network filter (HTTP connection manager or TCP proxy).
// A listener warms until its RDS route tables arrive; an updated listener drains the connections
// of its old filter chains; a removed one drains and closes.
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../../base/logger.ts";
import type { ApplyResult, ResourceUpdate, TypeHandler } from "../../xds/client/types.ts";
import { type HcmDeps, HttpConnectionManager } from "../hcm/connection-manager.ts";
import { decodeListener } from "../listener/decode-listener.ts";
import { selectFilterChain } from "../listener/index.ts";
import type { FilterChain, ListenerConfig, TcpProxyConfig } from "../listener/types.ts";
import { inspectConnection } from "./inspect-connection.ts";
import type { RouteStore } from "./route-store.ts";

export type StartTcpProxy = (
  socket: Socket,
  config: TcpProxyConfig,
  originalDestination: { address: string; port: number },
) => { close(): void };

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
}

/** Listener sockets whose listen() has not settled; the state follows a socket a new config adopts. */
const bindingServers = new WeakSet<Server>();

class ActiveListener {
  config: ListenerConfig;
  readonly json: string;
  private readonly manager: ListenerManager;
  private server: Server | undefined;
  private hcms = new Map<FilterChain, HttpConnectionManager>();
  private readonly tcpSessions = new Set<{ close(): void }>();
  boundAddress: string | undefined;

  constructor(manager: ListenerManager, config: ListenerConfig, json: string) {
    this.manager = manager;
    this.config = config;
    this.json = json;
  }

  bind(logger: Logger): void {
    const address = this.config.address;
    if (!this.config.bindToPort || !address) return;
    const server = createServer({ pauseOnConnect: true, noDelay: true });
    server.on("connection", (socket) => this.onConnection(socket));
    // listen() completes asynchronously; the proxy is ready only once its listeners accept.
    bindingServers.add(server);
    const settled = (): void => {
      if (!bindingServers.delete(server)) return;
      this.manager.options.onBound?.();
    };
    server.on("error", (err) => {
      logger.error({ listener: this.config.name, err: err.message }, "listener failed to bind");
      settled();
    });
    server.listen({ host: address.address, port: address.port }, () => {
      const bound = server.address();
      if (bound && typeof bound === "object") this.boundAddress = `${bound.address}:${bound.port}`;
      settled();
    });
    this.server = server;
  }

  /** listen() was called and has neither succeeded nor failed yet (an adopted socket too). */
  get binding(): boolean {
    return this.server !== undefined && bindingServers.has(this.server);
  }

  /** Takes over an updated config on the same socket; old chains drain. */
  adopt(next: ActiveListener): void {
    next.server = this.server;
    next.boundAddress = this.boundAddress;
    this.server?.removeAllListeners("connection");
    next.server?.on("connection", (socket) => next.onConnection(socket));
    this.server = undefined;
    this.drainThenClose();
  }

  private hcmFor(
    chain: FilterChain,
    config: ConstructorParameters<typeof HttpConnectionManager>[0],
  ): HttpConnectionManager {
    let hcm = this.hcms.get(chain);
    if (!hcm) {
      hcm = new HttpConnectionManager(config, this.manager.hcmDeps);
      this.hcms.set(chain, hcm);
    }
    return hcm;
  }

  private onConnection(socket: Socket): void {
    socket.on("error", () => {});
    const chainsNeedH2Sniff = true;
    inspectConnection(socket, this.config, { sniffH2c: chainsNeedH2Sniff }).then(
      ({ info, h2c }) => {
        if (socket.destroyed) return;
        const chain = selectFilterChain(this.config, info);
        const filter = chain?.filters[0];
        if (!chain || !filter || chain.transportSocket) {
          // No chain (Envoy closes), or one needing TLS termination the proxy cannot do yet.
          socket.destroy();
          return;
        }
        if (filter.kind === "http_connection_manager") {
          this.hcmFor(chain, filter.config).handle(socket, info, h2c);
          return;
        }
        const session = this.manager.options.startTcpProxy(socket, filter.config, {
          address: info.destinationIp,
          port: info.destinationPort,
        });
        this.tcpSessions.add(session);
        socket.once("close", () => this.tcpSessions.delete(session));
        socket.resume();
      },
      () => socket.destroy(),
    );
  }

  routeNames(): string[] {
    const names: string[] = [];
    const chains = [
      ...this.config.filterChains,
      ...(this.config.defaultFilterChain ? [this.config.defaultFilterChain] : []),
    ];
    for (const chain of chains)
      for (const filter of chain.filters)
        if (filter.kind === "http_connection_manager" && filter.config.routes.kind === "rds")
          names.push(filter.config.routes.routeConfigName);
    return names;
  }

  drainThenClose(): void {
    for (const hcm of this.hcms.values()) hcm.drain();
    const timer = setTimeout(() => this.close(), this.manager.options.drainTimeMs);
    timer.unref();
  }

  drain(): void {
    for (const hcm of this.hcms.values()) hcm.drain();
  }

  close(): void {
    this.server?.close();
    this.server = undefined;
    for (const hcm of this.hcms.values()) hcm.close();
    this.hcms.clear();
    for (const session of this.tcpSessions) session.close();
    this.tcpSessions.clear();
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
    for (const listener of this.active.values()) if (listener.binding) return false;
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
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  warmingNames(): string[] {
    return [...this.warming.keys()].sort();
  }

  drain(): void {
    for (const l of this.active.values()) l.drain();
  }

  close(): void {
    for (const l of [...this.active.values(), ...this.warming.values()]) l.close();
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
      decoded.push(new ActiveListener(this, result.value, text));
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
      if (old && sameAddress) old.adopt(listener);
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
