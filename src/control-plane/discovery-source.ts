// Connects the ADS engine to the mesh: each connected proxy is decoded from its xDS node, and
// its resources are the translation of the current snapshot for it — computed once per
// snapshot version and proxy, then served for every type; proxies that differ only in what the
// outbound translators do not read share that part (translate/shared-proxy.ts).
import type { Logger } from "../base/logger.ts";
import type { JsonObject } from "../xds/proto-json.ts";
import type {
  ConnectResult,
  ResourceSource,
  SubscriptionView,
  XdsResourceSet,
} from "../xds/server/types.ts";
import { TYPE_URL } from "../xds/type-urls.ts";
import { decodeProxyNode, type ProxyNode } from "./model/proxy.ts";
import type { MeshSnapshot } from "./model/snapshot.ts";
import { credentialSecretsFor } from "./translate/credential-secrets.ts";
import type { ProxyResources } from "./translate/proxy-resources.ts";
import type { SharedTranslationCache } from "./translate/shared-proxy.ts";

/** `options.sharedCache` is cleared whenever the snapshot version changes. */
export type Translate = (
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  options?: { sharedCache?: SharedTranslationCache; listenerNames?: readonly string[] },
) => ProxyResources;

export interface ConnectedProxy {
  connectionId: string;
  proxy: ProxyNode;
  /**
   * Proxyless gRPC clients: the listener names of their LDS subscription (`echo:7070`,
   * `echo.default.svc.cluster.local:7070`…), translated as asked; undefined until the first LDS
   * request, or for a wildcard one.
   */
  listenerNames?: readonly string[];
}

export interface DiscoverySource extends ResourceSource {
  proxies(): readonly ConnectedProxy[];
  /** The resources a proxy gets from the current snapshot (for /debug/config_dump). */
  resourcesFor(proxy: ProxyNode, listenerNames?: readonly string[]): ProxyResources;
}

const EMPTY = new Map<string, JsonObject>();

export function createDiscoverySource(options: {
  snapshot: () => MeshSnapshot;
  translate: Translate;
  logger: Logger;
  onInternalError?: (error: unknown) => void;
}): DiscoverySource {
  const connected = new Map<string, ConnectedProxy>();
  // One translation per (snapshot version, proxy key, requested listener names); older versions
  // are dropped, and a connection keeps only the translation for its latest names.
  let cacheVersion = "";
  const cache = new Map<string, { names: string; resources: ProxyResources }>();
  // Translations shared between proxies, for the same snapshot version as `cache`.
  const sharedCache: SharedTranslationCache = new Map();
  // The last translation each connection was served: unchanged resources keep their previous
  // object, so the ADS engine's per-object encoding cache recognises them without re-encoding.
  const previous = new Map<string, ProxyResources>();

  const translateFor = (key: string, entry: ConnectedProxy): ProxyResources => {
    const { proxy, listenerNames } = entry;
    const names = listenerNames ? JSON.stringify(listenerNames) : "";
    const snapshot = options.snapshot();
    if (snapshot.version !== cacheVersion) {
      cache.clear();
      sharedCache.clear();
      cacheVersion = snapshot.version;
    }
    const cached = cache.get(key);
    let resources = cached?.names === names ? cached.resources : undefined;
    if (!resources) {
      try {
        resources = options.translate(snapshot, proxy, {
          sharedCache,
          ...(listenerNames ? { listenerNames } : {}),
        });
      } catch (error) {
        options.logger.error(
          { err: error, proxy: proxy.id },
          "translation failed; the proxy keeps its last config",
        );
        options.onInternalError?.(error);
        throw error;
      }
      const before = previous.get(key);
      if (before) resources = reuseUnchanged(before, resources);
      previous.set(key, resources);
      cache.set(key, { names, resources });
    }
    return resources;
  };

  const pick = (resources: ProxyResources, typeUrl: string): ReadonlyMap<string, JsonObject> => {
    switch (typeUrl) {
      case TYPE_URL.listener:
        return resources.listeners;
      case TYPE_URL.routeConfiguration:
        return resources.routes;
      case TYPE_URL.cluster:
        return resources.clusters;
      case TYPE_URL.clusterLoadAssignment:
        return resources.endpoints;
      default:
        return EMPTY;
    }
  };

  return {
    connect(node, connectionId): ConnectResult {
      const decoded = decodeProxyNode(node);
      if (!decoded.ok) return { ok: false, reason: decoded.reason };
      connected.set(connectionId, { connectionId, proxy: decoded.proxy });
      return { ok: true, key: connectionId };
    },
    resources(key, typeUrl, subscription): XdsResourceSet {
      const entry = connected.get(key);
      if (!entry) return { version: "", resources: EMPTY };
      if (typeUrl === TYPE_URL.listener && entry.proxy.kind === "proxyless") {
        entry.listenerNames = requestedNames(subscription);
      }
      if (typeUrl === TYPE_URL.secret) {
        const snapshot = options.snapshot();
        return {
          version: snapshot.version,
          resources: credentialSecretsFor(snapshot, entry.proxy, subscription?.names ?? []),
        };
      }
      return {
        version: options.snapshot().version,
        resources: pick(translateFor(key, entry), typeUrl),
      };
    },
    disconnect(connectionId) {
      connected.delete(connectionId);
      cache.delete(connectionId);
      previous.delete(connectionId);
    },
    proxies: () => [...connected.values()],
    resourcesFor: (proxy, listenerNames) =>
      options.translate(options.snapshot(), proxy, listenerNames ? { listenerNames } : {}),
  };
}

/** The names of a non-wildcard subscription, sorted (a stable cache key); undefined for wildcard. */
function requestedNames(subscription: SubscriptionView | undefined): string[] | undefined {
  if (!subscription || subscription.wildcard) return undefined;
  return [...subscription.names].sort();
}

/** Keeps the previous object for every resource whose content did not change (compared as JSON text). */
export function reuseUnchanged(before: ProxyResources, after: ProxyResources): ProxyResources {
  const reuse = (old: ReadonlyMap<string, JsonObject>, next: ReadonlyMap<string, JsonObject>) => {
    const out = new Map<string, JsonObject>();
    for (const [name, resource] of next) {
      const prior = old.get(name);
      out.set(name, prior && JSON.stringify(prior) === JSON.stringify(resource) ? prior : resource);
    }
    return out;
  };
  return {
    listeners: reuse(before.listeners, after.listeners),
    routes: reuse(before.routes, after.routes),
    clusters: reuse(before.clusters, after.clusters),
    endpoints: reuse(before.endpoints, after.endpoints),
  };
}
