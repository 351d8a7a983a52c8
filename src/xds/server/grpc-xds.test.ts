// Conformance: a real proxyless gRPC client (@grpc/grpc-js-xds) resolves xds:///svc through the engine.
import {
  credentials,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type ServiceError,
} from "@grpc/grpc-js";
import { register } from "@grpc/grpc-js-xds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../proto-json.ts";
import { CDS, EDS, type Harness, LDS, RDS, startHarness } from "./test-support.ts";

const identity = (b: Buffer) => b;
const PING: ServiceDefinition = {
  Ping: {
    path: "/crema.test.Pinger/Ping",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
interface PingClient {
  Ping(request: Buffer, callback: (error: ServiceError | null, reply?: Buffer) => void): void;
  close(): void;
}

async function backend(name: string): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(PING, {
    Ping: (_call: unknown, callback: (e: null, reply: Buffer) => void) =>
      callback(null, Buffer.from(name)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { server, port };
}

const ADS = { ads: {}, resource_api_version: "V3" };
const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

function listener(route: string): JsonObject {
  const hcm = {
    "@type": HCM,
    stat_prefix: "svc",
    rds: { route_config_name: route, config_source: ADS },
    http_filters: [
      {
        name: "router",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
        },
      },
    ],
  };
  return { name: "svc", api_listener: { api_listener: hcm } };
}

function route(name: string, cluster: string): JsonObject {
  const routes = [{ match: { prefix: "" }, route: { cluster } }];
  return { name, virtual_hosts: [{ name: "svc", domains: ["*"], routes }] };
}

function edsCluster(name: string): JsonObject {
  return {
    name,
    type: "EDS",
    lb_policy: "ROUND_ROBIN",
    eds_cluster_config: { eds_config: ADS, service_name: `${name}-eds` },
  };
}

function assignment(name: string, port: number): JsonObject {
  const address = { socket_address: { address: "127.0.0.1", port_value: port } };
  return {
    cluster_name: name,
    endpoints: [
      {
        locality: { region: "r1", zone: "z1" },
        load_balancing_weight: 1,
        lb_endpoints: [{ endpoint: { address }, load_balancing_weight: 1 }],
      },
    ],
  };
}

let h: Harness;
let backends: { server: Server; port: number }[];
let client: PingClient;

beforeAll(async () => {
  h = await startHarness();
  backends = [await backend("b1"), await backend("b2")];
  h.source.set(LDS, "svc", listener("svc-route"));
  h.source.set(RDS, "svc-route", route("svc-route", "c1"));
  h.source.set(CDS, "c1", edsCluster("c1"));
  h.source.set(EDS, "c1-eds", assignment("c1-eds", backends[0]!.port));
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [
      { server_uri: h.address, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] },
    ],
    node: { id: "grpc-conformance", locality: {} },
  });
  register();
  const Client = makeGenericClientConstructor(PING, "Pinger");
  client = new Client("xds:///svc", credentials.createInsecure()) as unknown as PingClient;
});

afterAll(async () => {
  client?.close();
  await h?.stop();
  for (const b of backends ?? []) b.server.forceShutdown();
  delete process.env.GRPC_XDS_BOOTSTRAP_CONFIG;
});

function ping(): Promise<string> {
  return new Promise((resolve, reject) =>
    client.Ping(Buffer.from("hi"), (error, reply) =>
      error ? reject(error) : resolve(reply!.toString()),
    ),
  );
}

describe("@grpc/grpc-js-xds against the engine", () => {
  it("resolves xds:///svc through LDS, RDS, CDS and EDS and ACKs each", async () => {
    expect(await ping()).toBe("b1");
    for (const typeUrl of [LDS, RDS, CDS, EDS])
      await h.events.waitFor((e) => e.kind === "ack" && e.typeUrl === typeUrl);
    const [connection] = h.ads.connections();
    expect(connection?.nodeId).toBe("grpc-conformance");
    expect(connection?.types.map((t) => [t.typeUrl, t.wildcard, t.names])).toEqual([
      [CDS, false, ["c1"]],
      [EDS, false, ["c1-eds"]],
      [LDS, false, ["svc"]],
      [RDS, false, ["svc-route"]],
    ]);
    expect(h.events.events.filter((e) => e.kind === "nack")).toEqual([]);
  });

  it("follows a pushed route change to another cluster", async () => {
    h.source.set(CDS, "c2", edsCluster("c2"));
    h.source.set(EDS, "c2-eds", assignment("c2-eds", backends[1]!.port));
    h.source.set(RDS, "svc-route", route("svc-route", "c2"));
    h.ads.push();
    // The client walks RDS → CDS → EDS and connects; RPCs switch over once it has (no sleeps).
    let answer = await ping();
    for (let attempt = 0; answer !== "b2" && attempt < 2000; attempt++) answer = await ping();
    expect(answer).toBe("b2");
    const eds = h.ads.connections()[0]?.types.find((t) => t.typeUrl === EDS);
    expect(eds?.names).toContain("c2-eds");
    expect(h.events.events.filter((e) => e.kind === "nack")).toEqual([]);
  });
});
