// Connects the ADS engine to the mesh: each connected proxy is decoded from its xDS node, and
// its resources are the translation of the current snapshot for it — computed once per
// snapshot version and proxy, then served for every type; proxies that differ only in what the
// outbound translators do not read share that part (translate/shared-proxy.ts), and a sidecar's
// own part is kept while nothing it reads changed (translate/local-proxy.ts).
import type { Logger } from "../base/logger.ts";
import type { JsonObject } from "../xds/proto-json.ts";
import type {
  ConnectResult,
  ResourceSource,
  SubscriptionView,
  XdsResourceSet,
} from "../xds/server/types.ts";
import { TYPE_URL } from "../xds/type-urls.ts";
import { GenerationalCache } from "./generational-cache.ts";
import { decodeProxyNode, type ProxyNode } from "./model/proxy.ts";
import type { MeshSnapshot } from "./model/snapshot.ts";
import { credentialSecretsFor } from "./translate/credential-secrets.ts";
import type { LocalTranslation, LocalTranslationCache } from "./translate/local-proxy.ts";
import type { ProxyResources } from "./translate/proxy-resources.ts";
import type { SharedTranslation, SharedTranslationCache } from "./translate/shared-proxy.ts";

/** The caches outlive snapshot versions: their entries say which version or key they hold. */
export type Translate = (
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  options?: {
    sharedCache?: SharedTranslationCache;
    localCache?: LocalTranslationCache;
    previous?: ProxyResources;
    listenerNames?: readonly string[];
  },
) => ProxyResources;

/** Snapshot versions a cached shared or local translation survives unused: a connection whose
 * push is still queued when newer versions arrive finds its entry on its turn. */
const KEEP_GENERATIONS = 4;
/** Far more sidecars than one control plane serves, yet a bound when they come and go. */
const MAX_LOCAL_TRANSLATIONS = 20_000;

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
  // Translations shared between proxies; an entry of an earlier version is the base its
  // replacement keeps unchanged objects from (compared once per shared key, not per proxy).
  const sharedCache = new GenerationalCache<SharedTranslation>(KEEP_GENERATIONS);
  // Sidecars' own resources (inbound listeners and clusters) by what they depend on: an
  // endpoint change elsewhere in the mesh does not translate them again.
  const localCache = new GenerationalCache<LocalTranslation>(
    KEEP_GENERATIONS,
    MAX_LOCAL_TRANSLATIONS,
  );
  // The last translation each connection was served: its unchanged own resources keep their
  // previous object, so the ADS engine's per-object encoding cache recognises them.
  const previous = new Map<string, ProxyResources>();

  const translateFor = (key: string, entry: ConnectedProxy): ProxyResources => {
    const { proxy, listenerNames } = entry;
    const names = listenerNames ? JSON.stringify(listenerNames) : "";
    const snapshot = options.snapshot();
    if (snapshot.version !== cacheVersion) {
      cache.clear();
      sharedCache.nextGeneration();
      localCache.nextGeneration();
      cacheVersion = snapshot.version;
    }
    const cached = cache.get(key);
    let resources = cached?.names === names ? cached.resources : undefined;
    if (!resources) {
      const before = previous.get(key);
      try {
        resources = options.translate(snapshot, proxy, {
          sharedCache,
          localCache,
          ...(before ? { previous: before } : {}),
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
