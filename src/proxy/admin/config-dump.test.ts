import { describe, expect, it } from "vitest";
import type { ResourceUpdate } from "../../xds/client/types.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import {
  attributeErrors,
  buildConfigDump,
  type ConfigDumpQuery,
  type ConfigDumpSource,
  parseConfigDumpQuery,
  redact,
} from "./config-dump.ts";
import { ResourceRecorder } from "./resource-recorder.ts";

const T0 = "2024-05-01T10:00:00.000Z";
const NODE = {
  id: "sidecar~10.0.0.1~web.default~default.svc.cluster.local",
  cluster: "web.default",
};
const REVIEWS = "outbound|9080||reviews.default.svc.cluster.local";

function update(added: Record<string, JsonObject>, version: string, full = false): ResourceUpdate {
  const map = new Map(Object.entries(added));
  return {
    added: map,
    removed: [],
    full,
    version,
    versions: new Map([...map.keys()].map((n) => [n, version])),
  };
}

function setup(overrides: Partial<ConfigDumpSource> = {}) {
  const recorder = new ResourceRecorder({ now: () => Date.parse(T0) });
  let errors: string[] = [];
  const accept = (type: string) => recorder.wrap(type, { apply: () => ({ errors }) });
  accept(TYPE_URL.cluster).apply(
    update(
      {
        [REVIEWS]: { name: REVIEWS, type: "EDS" },
        BlackHoleCluster: { name: "BlackHoleCluster", type: "STATIC" },
      },
      "c1",
      true,
    ),
  );
  accept(TYPE_URL.clusterLoadAssignment).apply(
    update({ [REVIEWS]: { cluster_name: REVIEWS, endpoints: [] } }, "e1"),
  );
  accept(TYPE_URL.listener).apply(
    update(
      { virtualOutbound: { name: "virtualOutbound" }, "0.0.0.0_9080": { name: "0.0.0.0_9080" } },
      "l1",
      true,
    ),
  );
  accept(TYPE_URL.routeConfiguration).apply(update({ "9080": { name: "9080" } }, "r1"));
  const source: ConfigDumpSource = {
    node: NODE,
    startTime: Date.parse(T0),
    recorder,
    warmingClusters: [],
    warmingListeners: [],
    ...overrides,
  };
  return {
    source,
    recorder,
    reject: (type: string, added: Record<string, JsonObject>, version: string, e: string[]) => {
      errors = e;
      accept(type).apply(update(added, version));
      errors = [];
    },
  };
}

function dump(source: ConfigDumpSource, query: ConfigDumpQuery = {}) {
  const result = buildConfigDump(source, query);
  if (result.status !== 200) throw new Error(result.error);
  return result.body.configs;
}

describe("buildConfigDump", () => {
  it("dumps the configs in Envoy's order with Envoy's admin types and each resource's type", () => {
    const { source } = setup();
    expect(dump(source)).toEqual([
      {
        "@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
        bootstrap: { node: NODE },
        last_updated: T0,
      },
      {
        "@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
        version_info: "c1",
        dynamic_active_clusters: [
          {
            version_info: "c1",
            cluster: {
              "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
              name: "BlackHoleCluster",
              type: "STATIC",
            },
            last_updated: T0,
          },
          {
            version_info: "c1",
            cluster: {
              "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
              name: REVIEWS,
              type: "EDS",
            },
            last_updated: T0,
          },
        ],
      },
      {
        "@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
        version_info: "l1",
        dynamic_listeners: [
          {
            name: "0.0.0.0_9080",
            active_state: {
              version_info: "l1",
              listener: {
                "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
                name: "0.0.0.0_9080",
              },
              last_updated: T0,
            },
          },
          {
            name: "virtualOutbound",
            active_state: {
              version_info: "l1",
              listener: {
                "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
                name: "virtualOutbound",
              },
              last_updated: T0,
            },
          },
        ],
      },
      { "@type": "type.googleapis.com/envoy.admin.v3.ScopedRoutesConfigDump" },
      {
        "@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
        dynamic_route_configs: [
          {
            version_info: "r1",
            route_config: {
              "@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
              name: "9080",
            },
            last_updated: T0,
          },
        ],
      },
      { "@type": "type.googleapis.com/envoy.admin.v3.SecretsConfigDump" },
    ]);
  });

  it("adds EndpointsConfigDump after the clusters only with include_eds", () => {
    const { source } = setup();
    const configs = dump(source, { includeEds: true });
    expect(configs.map((c) => c["@type"])).toEqual([
      "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
      "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
      "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
      "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
      "type.googleapis.com/envoy.admin.v3.ScopedRoutesConfigDump",
      "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
      "type.googleapis.com/envoy.admin.v3.SecretsConfigDump",
    ]);
    expect(configs[2]).toEqual({
      "@type": "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
      dynamic_endpoint_configs: [
        {
          version_info: "e1",
          endpoint_config: {
            "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
            cluster_name: REVIEWS,
            endpoints: [],
          },
          last_updated: T0,
        },
      ],
    });
  });

  it("puts warming clusters and listeners where Envoy does", () => {
    const { source } = setup({ warmingClusters: [REVIEWS], warmingListeners: ["0.0.0.0_9080"] });
    const [, clusters, listeners] = dump(source);
    expect(
      (clusters!.dynamic_active_clusters as JsonObject[]).map(
        (c) => (c.cluster as JsonObject).name,
      ),
    ).toEqual(["BlackHoleCluster"]);
    expect(
      (clusters!.dynamic_warming_clusters as JsonObject[]).map(
        (c) => (c.cluster as JsonObject).name,
      ),
    ).toEqual([REVIEWS]);
    const [warm, active] = listeners!.dynamic_listeners as JsonObject[];
    expect(Object.keys(warm!)).toEqual(["name", "warming_state"]);
    expect(Object.keys(active!)).toEqual(["name", "active_state"]);
  });

  it("shows bootstrap extras beside the node", () => {
    const { source } = setup({ bootstrap: { admin: { address: "x" }, node: { id: "ignored" } } });
    expect(dump(source)[0]!.bootstrap).toEqual({ node: NODE, admin: { address: "x" } });
  });

  it("returns one repeated field's elements, typed, for ?resource=", () => {
    const { source } = setup();
    const configs = dump(source, { resource: "dynamic_active_clusters" });
    expect(configs).toHaveLength(2);
    expect(configs[0]).toMatchObject({
      "@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump.DynamicCluster",
      version_info: "c1",
      cluster: { name: "BlackHoleCluster" },
    });
    expect(dump(source, { resource: "dynamic_warming_clusters" })).toEqual([]);
    expect(dump(source, { resource: "dynamic_listeners" })[0]!["@type"]).toBe(
      "type.googleapis.com/envoy.admin.v3.ListenersConfigDump.DynamicListener",
    );
  });

  it("answers 404 for an unknown resource and 400 for a singular field", () => {
    const { source } = setup();
    expect(buildConfigDump(source, { resource: "foo" }).status).toBe(404);
    expect(buildConfigDump(source, { resource: "dynamic_endpoint_configs" }).status).toBe(404);
    expect(buildConfigDump(source, { resource: "version_info" }).status).toBe(400);
    expect(
      buildConfigDump(source, { resource: "dynamic_endpoint_configs", includeEds: true }).status,
    ).toBe(200);
  });

  it("applies a mask to each config, or to each resource with ?resource=", () => {
    const { source } = setup();
    expect(
      dump(source, { resource: "dynamic_active_clusters", mask: "cluster.name,version_info" }),
    ).toEqual([
      {
        "@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump.DynamicCluster",
        version_info: "c1",
        cluster: {
          "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
          name: "BlackHoleCluster",
        },
      },
      {
        "@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump.DynamicCluster",
        version_info: "c1",
        cluster: { "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", name: REVIEWS },
      },
    ]);
    const masked = dump(source, { mask: "version_info" });
    expect(masked[1]).toEqual({
      "@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
      version_info: "c1",
    });
    expect(masked[0]).toEqual({
      "@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
    });
    expect(dump(source, { resource: "dynamic_route_configs", mask: "bad" })).toEqual([
      { "@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump.DynamicRouteConfig" },
    ]);
  });

  it("keeps only resources whose names fully match name_regex", () => {
    const { source } = setup();
    const configs = dump(source, { nameRegex: "outbound\\|.*|9080" });
    expect(
      (configs[1]!.dynamic_active_clusters as JsonObject[]).map(
        (c) => (c.cluster as JsonObject).name,
      ),
    ).toEqual([REVIEWS]);
    expect(configs[2]!.dynamic_listeners).toBeUndefined();
    expect(configs[4]!.dynamic_route_configs).toHaveLength(1);
    expect(buildConfigDump(source, { nameRegex: "(" }).status).toBe(400);
    expect(buildConfigDump(source, { nameRegex: "x)|(.*" }).status).toBe(400);
  });

  it("shows a rejection as error_state on the resources it names", () => {
    const { source, reject } = setup();
    reject(
      TYPE_URL.listener,
      {
        virtualOutbound: { name: "virtualOutbound", bad: true },
        "0.0.0.0_15006": { name: "0.0.0.0_15006" },
      },
      "l2",
      ['resource "virtualOutbound": cannot decode', "0.0.0.0_15006: no filter chains"],
    );
    const listeners = dump(source)[2]!.dynamic_listeners as JsonObject[];
    expect(listeners.map((l) => l.name)).toEqual([
      "0.0.0.0_15006",
      "0.0.0.0_9080",
      "virtualOutbound",
    ]);
    expect(listeners[0]).toEqual({
      name: "0.0.0.0_15006",
      error_state: {
        failed_configuration: {
          "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
          name: "0.0.0.0_15006",
        },
        last_update_attempt: T0,
        details: "0.0.0.0_15006: no filter chains",
        version_info: "l2",
      },
    });
    expect(listeners[1]!.error_state).toBeUndefined();
    expect(listeners[2]!.active_state).toBeDefined();
    expect((listeners[2]!.error_state as JsonObject).details).toBe(
      'resource "virtualOutbound": cannot decode',
    );
  });

  it("puts a rejected cluster's errors on the active cluster it would have replaced", () => {
    const { source, reject } = setup();
    reject(TYPE_URL.cluster, { [REVIEWS]: { name: REVIEWS } }, "c2", [`${REVIEWS}: bad lb`]);
    const [, clusters] = dump(source);
    const reviews = (clusters!.dynamic_active_clusters as JsonObject[])[1]!;
    expect(reviews.version_info).toBe("c1");
    expect(reviews.error_state).toMatchObject({
      details: `${REVIEWS}: bad lb`,
      version_info: "c2",
    });
  });

  it("redacts private keys and passwords in secrets", () => {
    const { source, recorder } = setup();
    recorder.wrap(TYPE_URL.secret, { apply: () => ({ errors: [] }) }).apply(
      update(
        {
          default: {
            name: "default",
            tls_certificate: {
              certificate_chain: { inline_bytes: "Y2VydA==" },
              private_key: { inline_bytes: "a2V5" },
              password: { inline_string: "hunter2" },
            },
          },
        },
        "s1",
      ),
    );
    const secrets = dump(source)[5]!;
    expect(secrets.dynamic_active_secrets).toEqual([
      {
        name: "default",
        version_info: "s1",
        last_updated: T0,
        secret: {
          "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
          name: "default",
          tls_certificate: {
            certificate_chain: { inline_bytes: "Y2VydA==" },
            private_key: { inline_bytes: Buffer.from("[redacted]").toString("base64") },
            password: { inline_string: "[redacted]" },
          },
        },
      },
    ]);
  });
});

describe("attributeErrors", () => {
  it("gives every resource every error when no error names one", () => {
    const resources = new Map([
      ["a", {}],
      ["b", {}],
    ]);
    expect(attributeErrors({ version: "1", errors: ["boom"], time: T0, resources })).toEqual(
      new Map([
        ["a", ["boom"]],
        ["b", ["boom"]],
      ]),
    );
  });
});

describe("redact", () => {
  it("finds key material inside typed_config and leaves other values alone", () => {
    expect(
      redact({
        typed_config: {
          common_tls_context: {
            tls_certificates: [
              { private_key: { inline_string: "k" }, password: { filename: "/p" } },
            ],
          },
        },
        secret: "not-a-data-source",
      }),
    ).toEqual({
      typed_config: {
        common_tls_context: {
          tls_certificates: [
            { private_key: { inline_string: "[redacted]" }, password: { filename: "/p" } },
          ],
        },
      },
      secret: "not-a-data-source",
    });
  });
});

describe("parseConfigDumpQuery", () => {
  it("reads Envoy's parameters", () => {
    expect(
      parseConfigDumpQuery(
        new URLSearchParams("include_eds&resource=dynamic_listeners&mask=name&name_regex=.*"),
      ),
    ).toEqual({ includeEds: true, resource: "dynamic_listeners", mask: "name", nameRegex: ".*" });
    expect(parseConfigDumpQuery(new URLSearchParams(""))).toEqual({ includeEds: false });
  });
});
