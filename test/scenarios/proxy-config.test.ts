// Config delivery to a real `crema proxy`: resources it cannot honour are NACKed with the reason
// while traffic keeps flowing on the last good config (served by an in-process ADS server built
// from crema's own engine), and 50 pushes from the real control plane under continuous load
// (RDS, CDS and LDS churn) fail no request.

import { Agent, request } from "node:http";
import { Server as GrpcServer, ServerCredentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/base/logger.ts";
import type { EchoServer } from "../../src/echo/index.ts";
import { startEchoServer } from "../../src/echo/index.ts";
import type { JsonObject } from "../../src/xds/proto-json.ts";
import { AdsServer } from "../../src/xds/server/index.ts";
import { EventLog, FakeSource, LDS, RDS } from "../../src/xds/server/test-support.ts";
import { TYPE_URL } from "../../src/xds/type-urls.ts";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  type ProxyProcess,
  podYaml,
  serviceYaml,
  startMesh,
  startProxyProcess,
  subsetsYaml,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 35;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(
  host: string,
  port: number,
  path: string,
  headers: Record<string, string> = {},
  agent?: Agent,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path, headers, ...(agent ? { agent } : { agent: false }) },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  return res.json();
}

describe.each([
  { protocol: "sotw", host: 2 },
  { protocol: "delta", host: 4 },
])("an xDS update the proxy cannot honour ($protocol)", ({ protocol, host }) => {
  const LISTENER_IP = ip(host);
  const SERVER_IP = ip(host + 1);
  const ECHO_IP = ip(host, 2);
  const LISTENER_PORT = 8000;
  let echo: EchoServer;
  let grpc: GrpcServer;
  let ads: AdsServer;
  let proxy: ProxyProcess;
  const source = new FakeSource();
  const events = new EventLog();

  const HCM_TYPE =
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  const routerFilter = {
    name: "envoy.filters.http.router",
    typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
  };
  function listener(httpFilters: JsonObject[]): JsonObject {
    return {
      name: "web",
      address: { socket_address: { address: LISTENER_IP, port_value: LISTENER_PORT } },
      filter_chains: [
        {
          filters: [
            {
              name: "envoy.filters.network.http_connection_manager",
              typed_config: {
                "@type": HCM_TYPE,
                stat_prefix: "web",
                rds: {
                  config_source: { ads: {}, resource_api_version: "V3" },
                  route_config_name: "web",
                },
                http_filters: httpFilters,
              },
            },
          ],
        },
      ],
    };
  }
  function routes(extraRoute?: JsonObject, marker = "good-1"): JsonObject {
    return {
      name: "web",
      virtual_hosts: [
        {
          name: "all",
          domains: ["*"],
          response_headers_to_add: [{ header: { key: "x-config", value: marker } }],
          routes: [
            ...(extraRoute ? [extraRoute] : []),
            { match: { prefix: "/" }, route: { cluster: "echo" } },
          ],
        },
      ],
    };
  }

  function staticCluster(address: string): JsonObject {
    const endpoint = { address: { socket_address: { address, port_value: 8080 } } };
    return {
      name: "echo",
      type: "STATIC",
      connect_timeout: "1s",
      load_assignment: { cluster_name: "echo", endpoints: [{ lb_endpoints: [{ endpoint }] }] },
    };
  }

  beforeAll(async () => {
    echo = await startEchoServer({
      host: ECHO_IP,
      port: 8080,
      pod: "echo-a",
      namespace: "default",
      version: "v1",
      logger: silentLogger(),
    });
    source.set(TYPE_URL.cluster, "echo", staticCluster(ECHO_IP));
    source.set(LDS, "web", listener([routerFilter]));
    source.set(RDS, "web", routes());
    ads = new AdsServer(source, { logger: silentLogger(), onEvent: events.record });
    grpc = new GrpcServer();
    ads.bind(grpc);
    const port = await new Promise<number>((resolve, reject) =>
      grpc.bindAsync(`${SERVER_IP}:0`, ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    proxy = await startProxyProcess(`${SERVER_IP}:${port}`, {
      pod: "web-0",
      ip: LISTENER_IP,
      extraArgs: ["--xds-protocol", protocol],
    });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await ads?.close();
    await new Promise<void>((resolve) => (grpc ? grpc.tryShutdown(() => resolve()) : resolve()));
    await echo?.stop({ drainTimeoutMs: 0 });
  });

  const call = () => get(LISTENER_IP, LISTENER_PORT, "/menu");
  const configDump = async () =>
    (await getJson(`${proxy.adminUrl}/config_dump`)) as { configs: JsonObject[] };

  it("serves the first config", async () => {
    const reply = await call();
    expect(reply.status).toBe(200);
    expect(reply.headers["x-crema-pod"]).toBe("echo-a");
    expect(reply.headers["x-config"]).toBe("good-1");
  });

  it("NACKs a route with an invalid RE2 regex, with the field and the reason, and keeps routing", async () => {
    source.set(
      RDS,
      "web",
      routes(
        { match: { safe_regex: { regex: "/menu(" } }, direct_response: { status: 418 } },
        "bad",
      ),
    );
    ads.push();
    const nack = await events.waitFor((e) => e.kind === "nack" && e.typeUrl === RDS);
    expect(nack.kind === "nack" && nack.message).toContain(
      'virtual_hosts[0].routes[0].match.safe_regex.regex: invalid RE2 regex "/menu("',
    );
    // The server's own record of the stream (what /debug/syncz shows) has the NACK too.
    const status = ads.connections()[0]!.types.find((t) => t.typeUrl === RDS)!;
    expect(status.lastNack?.message).toContain("invalid RE2 regex");
    expect(status.lastAck?.version).not.toBe(status.lastNack?.version);
    // The proxy's admin shows the rejected update beside the config it kept.
    const dump = JSON.stringify(await configDump());
    expect(dump).toContain("invalid RE2 regex");
    expect(dump).toContain('"error_state"');
    expect(proxy.logs()).toContain("rejected xDS update");
    for (let i = 0; i < 5; i++) {
      const reply = await call();
      expect(reply.status).toBe(200);
      expect(reply.headers["x-config"]).toBe("good-1");
    }
  });

  it("NACKs a listener whose RBAC filter it cannot honour, and keeps serving", async () => {
    source.set(
      LDS,
      "web",
      listener([
        {
          // RBAC's unified matcher API is not implemented; skipping it would let denied requests
          // through, so the whole listener is refused.
          name: "envoy.filters.http.rbac",
          typed_config: {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            matcher: { matcher_list: { matchers: [] } },
          },
        },
        routerFilter,
      ]),
    );
    ads.push();
    const nack = await events.waitFor((e) => e.kind === "nack" && e.typeUrl === LDS);
    expect(nack.kind === "nack" && nack.message).toContain("matcher");
    const reply = await call();
    expect(reply.status).toBe(200);
    expect(reply.headers["x-config"]).toBe("good-1");
  });

  it("NACKs a STATIC cluster whose endpoint is not an IP address, and keeps the old endpoint", async () => {
    source.set(TYPE_URL.cluster, "echo", staticCluster("echo.invalid"));
    ads.push();
    const nack = await events.waitFor((e) => e.kind === "nack" && e.typeUrl === TYPE_URL.cluster);
    expect(nack.kind === "nack" && nack.message).toContain('"echo.invalid" is not an IP address');
    const reply = await call();
    expect(reply.status).toBe(200);
    expect(reply.headers["x-crema-pod"]).toBe("echo-a");
    source.set(TYPE_URL.cluster, "echo", staticCluster(ECHO_IP));
  });

  it("accepts the next good config after the NACKs", async () => {
    source.set(LDS, "web", listener([routerFilter]));
    source.set(
      RDS,
      "web",
      routes(
        { match: { safe_regex: { regex: "/menu[0-9]*" } }, direct_response: { status: 418 } },
        "good-2",
      ),
    );
    const mark = events.events.length;
    ads.push();
    await events.waitFor(
      (e) => e.kind === "ack" && e.typeUrl === RDS && events.events.indexOf(e) >= mark,
    );
    let last: Reply | undefined;
    const reply = await until(
      "the new route table is served",
      async () => {
        last = await call();
        return last.headers["x-config"] === "good-2" && last;
      },
      { detail: () => `last reply: ${JSON.stringify(last)}` },
    );
    expect(reply.status).toBe(418);
    expect((await get(LISTENER_IP, LISTENER_PORT, "/other")).status).toBe(200);
    const dump = JSON.stringify(await configDump());
    expect(dump).not.toContain("invalid RE2 regex");
  });
});

describe("config churn under load", () => {
  const PUSHES = 50;
  const LOOPS = 8;
  const sidecarIp = ip(19);
  let mesh: Mesh;

  const BASE = `
${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${podYaml({ name: "echo-v1", ip: ip(11), labels: { app: "echo", version: "v1" }, ports: [8080] })}---
${podYaml({ name: "echo-v2", ip: ip(12), labels: { app: "echo", version: "v2" }, ports: [8080] })}---
${podYaml({ name: "sleep", ip: sidecarIp, labels: { app: "sleep" }, ports: [7070] })}`;

  /**
   * Push `step`: the VirtualService's weights flip and its response header names the step (RDS);
   * every other pair of steps a DestinationRule subset (CDS), a Service selecting the client
   * sidecar's own pod (a bound inbound listener comes and goes) and a second Service on echo's
   * port (echo-v1's sidecar replaces the inbound listener the load goes through) come or go (LDS).
   */
  function churn(step: number): { yaml: string; extras: boolean } {
    const extras = step % 4 >= 2;
    const [w1, w2] = step % 2 === 0 ? [80, 20] : [20, 80];
    const yaml = `
${subsetsYaml("echo")}${extras ? "  - {name: v3, labels: {version: v3}}\n" : ""}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - headers: {response: {set: {x-push: push-${step}}}}
    route:
    - {destination: {host: echo, subset: v1}, weight: ${w1}}
    - {destination: {host: echo, subset: v2}, weight: ${w2}}
${
  extras
    ? `---
${serviceYaml("sleep", { ports: [{ name: "http", port: 7070, targetPort: 7070 }] })}---
${serviceYaml("echo-alias", { selector: "echo", ports: [{ name: "http", port: 81, targetPort: 8080 }] })}`
    : ""
}`;
    return { yaml, extras };
  }

  let proxy: ProxyProcess;
  let echoSidecar: ProxyProcess;

  beforeAll(async () => {
    mesh = await startMesh(SUBNET, `${BASE}---\n${churn(0).yaml}`);
    await mesh.startEcho({ pod: "echo-v1", ip: ip(11, 2), version: "v1" });
    echoSidecar = await mesh.startProxy({
      pod: "echo-v1",
      ip: ip(11),
      labels: { app: "echo", version: "v1" },
      appAddress: ip(11, 2),
    });
    await mesh.startEcho({ pod: "echo-v2", ip: ip(12), version: "v2" });
    proxy = await mesh.startProxy({ pod: "sleep", ip: sidecarIp, labels: { app: "sleep" } });
  }, 30_000);

  afterAll(async () => {
    await mesh?.stop();
  });

  /**
   * Resolves once the sidecar runs step `step`'s config (route header, subset, listener). Each
   * push gets up to 10 s; the test's own timeout bounds the 51 of them together.
   */
  async function applied(step: number, extras: boolean): Promise<void> {
    let seen = {};
    await until(
      `push ${step} is in the proxy's config_dump`,
      async () => {
        const dump = await (await fetch(`${proxy.adminUrl}/config_dump`)).text();
        const hasRoute = dump.includes(`"push-${step}"`);
        const hasSubset = dump.includes("outbound|80|v3|echo.default.svc.cluster.local");
        const hasListener = dump.includes(`"${sidecarIp}_7070"`);
        const echoDump = await (await fetch(`${echoSidecar.adminUrl}/config_dump`)).text();
        const hasAlias = echoDump.includes('"0.0.0.0_81"');
        seen = { hasRoute, hasSubset, hasListener, hasAlias };
        return hasRoute && hasSubset === extras && hasListener === extras && hasAlias === extras;
      },
      {
        timeoutMs: 10_000,
        detail: () => `expected extras ${extras}, last seen ${JSON.stringify(seen)}`,
      },
    );
  }

  it("50 pushes (RDS, CDS and LDS) while 8 keep-alive loops send requests: none fails", async () => {
    await applied(0, false);
    const agent = new Agent({ keepAlive: true, maxSockets: LOOPS });
    const failures: string[] = [];
    const pods = new Map<string, number>();
    let completed = 0;
    let stop = false;
    const loop = async (): Promise<void> => {
      while (!stop) {
        try {
          const reply = await get(sidecarIp, 15001, "http://echo/churn", {}, agent);
          const pod = String(reply.headers["x-crema-pod"]);
          if (reply.status !== 200 || !pod.startsWith("echo-v"))
            failures.push(`${reply.status} ${pod} ${reply.body.slice(0, 200)}`);
          else pods.set(pod, (pods.get(pod) ?? 0) + 1);
        } catch (error) {
          failures.push(String(error));
        }
        completed++;
      }
    };
    const loops = Array.from({ length: LOOPS }, loop);
    try {
      for (let step = 1; step <= PUSHES; step++) {
        const { yaml, extras } = churn(step);
        mesh.apply("10-churn.yaml", yaml);
        await applied(step, extras);
      }
    } finally {
      stop = true;
      await Promise.all(loops);
      agent.destroy();
    }
    expect(failures).toEqual([]);
    expect(completed).toBeGreaterThan(PUSHES);
    expect(pods.get("echo-v1")).toBeGreaterThan(0);
    expect(pods.get("echo-v2")).toBeGreaterThan(0);
    // The control plane saw every push ACKed, none NACKed.
    const syncz = (await getJson(`${mesh.controlPlane.httpUrl}/debug/syncz`)) as Array<{
      nodeId: string;
      types: Array<{ typeUrl: string; lastNack?: unknown }>;
    }>;
    const sidecar = syncz.find((c) => c.nodeId.includes(sidecarIp))!;
    expect(sidecar.types.filter((t) => t.lastNack)).toEqual([]);
  }, 60_000);
});
