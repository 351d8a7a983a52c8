import { describe, expect, it } from "vitest";
import { silentLogger } from "../base/logger.ts";
import type { JsonObject } from "../xds/proto-json.ts";
import { TYPE_URL } from "../xds/type-urls.ts";
import { createDiscoverySource, type Translate } from "./discovery-source.ts";
import type { MeshSnapshot } from "./model/snapshot.ts";
import type { ProxyResources } from "./translate/proxy-resources.ts";

const resources = (clusters: Record<string, object>): ProxyResources => ({
  listeners: new Map(),
  routes: new Map(),
  clusters: new Map(Object.entries(clusters)) as ProxyResources["clusters"],
  endpoints: new Map(),
});

describe("discovery source", () => {
  const grpcNode = (generator?: string): JsonObject => ({
    id: "sidecar~10.0.0.9~client.default~default.svc.cluster.local",
    metadata: { NAMESPACE: "default", ...(generator ? { GENERATOR: generator } : {}) },
  });
  const setup = () => {
    const calls: Array<readonly string[] | undefined> = [];
    const translate: Translate = (_snapshot, _proxy, options) => {
      calls.push(options?.listenerNames);
      const names = options?.listenerNames ?? ["*"];
      return { ...resources({}), listeners: new Map(names.map((n) => [n, { name: n }])) };
    };
    const source = createDiscoverySource({
      snapshot: () => ({ version: "1" }) as MeshSnapshot,
      translate,
      logger: silentLogger(),
    });
    return { source, calls };
  };
  const names = (...list: string[]) => ({ wildcard: false, names: new Set(list) });

  it("translates a proxyless client's LDS subscription names, once per distinct set", () => {
    const { source, calls } = setup();
    const connected = source.connect(grpcNode("grpc"), "c1");
    if (!connected.ok) throw new Error(connected.reason);
    const lds = source.resources(connected.key, TYPE_URL.listener, names("echo:7070"));
    expect([...lds.resources.keys()]).toEqual(["echo:7070"]);
    // Other types reuse the translation for the names last asked for.
    source.resources(connected.key, TYPE_URL.routeConfiguration, names());
    source.resources(connected.key, TYPE_URL.listener, names("echo:7070"));
    expect(calls).toEqual([["echo:7070"]]);
    const more = source.resources(
      connected.key,
      TYPE_URL.listener,
      names("echo:7070", "echo.default:7070"),
    );
    expect([...more.resources.keys()]).toEqual(["echo.default:7070", "echo:7070"]);
    expect(calls).toEqual([["echo:7070"], ["echo.default:7070", "echo:7070"]]);
    expect(source.proxies()[0]?.listenerNames).toEqual(["echo.default:7070", "echo:7070"]);
  });

  it("ignores subscription names for proxies that are not proxyless, and wildcard requests", () => {
    const { source, calls } = setup();
    const sidecar = source.connect(grpcNode(), "c2");
    if (!sidecar.ok) throw new Error(sidecar.reason);
    source.resources(sidecar.key, TYPE_URL.listener, names("echo:7070"));
    const grpc = source.connect(grpcNode("grpc"), "c3");
    if (!grpc.ok) throw new Error(grpc.reason);
    source.resources(grpc.key, TYPE_URL.listener, { wildcard: true, names: new Set<string>() });
    expect(calls).toEqual([undefined, undefined]);
  });
});
