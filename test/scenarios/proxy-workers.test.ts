// A `crema proxy --concurrency 2` sidecar driven by the real control plane: both threads accept
// connections on the same listener addresses, circuit breakers count over both, a host that
// fails is ejected for both by the main thread's detector, the admin server sums both threads'
// stats, and a config push is ACKed only once every thread serves it.
import { createServer, request, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  type ProxyProcess,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 38;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const cluster = (service: string) => `outbound|80||${service}.default.svc.cluster.local`;
let mesh: Mesh;
let sidecar: ProxyProcess;
const servers: Server[] = [];

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An absolute-form request to the sidecar's outbound listener, on a connection of its own
 * (each new connection lands on whichever thread the kernel picks). */
function call(url: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: sidecar.ip, port: 15001, path: url, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function stats(filter: string): Promise<Map<string, number>> {
  const url = `${sidecar.adminUrl}/stats?filter=${encodeURIComponent(filter)}`;
  const text = await (await fetch(url)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const at = line.lastIndexOf(": ");
    if (at > 0) out.set(line.slice(0, at), Number(line.slice(at + 2)));
  }
  return out;
}

/** A pod answering 503 while `failing`, else 200 with its name. */
async function startPod(name: string, address: string, failing: boolean) {
  const pod = { name, hits: 0, failing };
  const server = createServer((req, res) => {
    pod.hits++;
    req.resume();
    res.setHeader("x-crema-pod", name);
    res.statusCode = pod.failing ? 503 : 200;
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(8080, address, resolve));
  servers.push(server);
  return pod;
}

const pod = (name: string, address: string, app: string) =>
  `${podYaml({ name, ip: address, labels: { app }, ports: [8080] })}---\n`;

const CONFIG = `
${INJECTED_NAMESPACE_YAML}---
${serviceYaml("plain")}---
${serviceYaml("cb")}---
${serviceYaml("od")}---
${pod("plain-1", ip(1), "plain")}
${pod("cb-1", ip(2), "cb")}
${pod("od-good", ip(3), "od")}
${pod("od-bad", ip(4), "od")}
${pod("sleep", ip(20), "sleep")}
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cb, namespace: default}
spec:
  host: cb
  trafficPolicy:
    connectionPool:
      http: {http2MaxRequests: 2}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: od, namespace: default}
spec:
  host: od
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    outlierDetection:
      consecutive5xxErrors: 2
      interval: 50ms
      baseEjectionTime: 60s
      maxEjectionPercent: 100
`;

let badPod: Awaited<ReturnType<typeof startPod>>;

beforeAll(async () => {
  mesh = await startMesh(SUBNET, CONFIG);
  await mesh.startEcho({ pod: "plain-1", ip: ip(1) });
  await mesh.startEcho({ pod: "cb-1", ip: ip(2) });
  await startPod("od-good", ip(3), false);
  badPod = await startPod("od-bad", ip(4), true);
  sidecar = await mesh.startProxy({
    pod: "sleep",
    ip: ip(20),
    labels: { app: "sleep" },
    extraArgs: ["--concurrency", "2"],
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(
    servers.map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
  await mesh?.stop();
});

describe("a sidecar with two threads", () => {
  it("accepts connections on both threads and sums their stats", async () => {
    const info = (await (await fetch(`${sidecar.adminUrl}/server_info`)).json()) as {
      command_line_options: { concurrency: number };
    };
    expect(info.command_line_options.concurrency).toBe(2);
    const listener = `listener.${ip(20)}_15001`;
    const before = await stats(`^${listener}\\.`);
    const total = 60;
    for (let i = 0; i < total; i++) expect((await call("http://plain/")).status).toBe(200);
    const after = await stats(`^${listener}\\.`);
    const moved = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const main = moved(`${listener}.worker_0.downstream_cx_total`);
    const worker = moved(`${listener}.worker_1.downstream_cx_total`);
    // The kernel spreads new connections over both sockets; all 60 on one has odds of 2^-59.
    expect(main).toBeGreaterThan(0);
    expect(worker).toBeGreaterThan(0);
    expect(main + worker).toBe(total);
    expect(moved(`${listener}.downstream_cx_total`)).toBe(total);
    const requests = await stats(
      `^cluster\\.${cluster("plain").replaceAll("|", "\\|")}\\.upstream_rq_2xx$`,
    );
    expect([...requests.values()][0]).toBeGreaterThanOrEqual(total);
  });

  it("counts the requests circuit breaker over both threads", async () => {
    const overflow = `cluster.${cluster("cb")}.upstream_rq_pending_overflow`;
    const before = (await stats(`^${overflow.replaceAll("|", "\\|")}$`)).get(overflow) ?? 0;
    // http2MaxRequests 2 is Envoy's max_requests for the whole proxy: of 12 concurrent requests
    // that each take 3 s (so all twelve arrive while the first two are served, even on a stalled
    // machine), on 12 connections spread over both threads, exactly 2 are served (with a limit
    // per thread, up to 4 would be).
    const replies = await Promise.all(
      Array.from({ length: 12 }, () => call("http://cb/delay/3000")),
    );
    const overflowed = replies.filter((r) => r.status === 503);
    expect(replies.filter((r) => r.status === 200)).toHaveLength(2);
    expect(overflowed).toHaveLength(10);
    for (const r of overflowed) expect(r.headers["x-envoy-overloaded"]).toBe("true");
    expect((await stats(`^${overflow.replaceAll("|", "\\|")}$`)).get(overflow)).toBe(before + 10);
  });

  it("ejects a failing host for both threads once the failures add up on either", async () => {
    // Two consecutive 5xx eject the host, wherever the two requests ran: the main thread's
    // detector counts what both threads report.
    for (let i = 0; i < 100 && badPod.hits < 2; i++) await call("http://od/");
    expect(badPod.hits).toBe(2);
    const flags = await (await fetch(`${sidecar.adminUrl}/clusters`)).text();
    expect(flags).toContain(`${cluster("od")}::${ip(4)}:8080::health_flags::/failed_outlier_check`);
    const replies = [];
    for (let i = 0; i < 40; i++) replies.push(await call("http://od/"));
    expect(replies.every((r) => r.status === 200 && r.body === "od-good")).toBe(true);
    expect(badPod.hits).toBe(2);
  });

  it("serves a pushed route on both threads by the time the push is ACKed", async () => {
    mesh.apply(
      "10-plain-route.yaml",
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: plain, namespace: default}
spec:
  hosts: [plain]
  http:
  - headers: {response: {set: {x-pushed: "yes"}}}
    route: [{destination: {host: plain}}]
`,
    );
    // The config dump answers once every thread applied what the main thread accepted.
    await until(
      "the route arrives",
      async () => {
        const url = `${sidecar.adminUrl}/config_dump?resource=dynamic_route_configs`;
        return (await (await fetch(url)).text()).includes("x-pushed");
      },
      { intervalMs: 25 },
    );
    const replies = [];
    for (let i = 0; i < 40; i++) replies.push(await call("http://plain/"));
    expect(replies.filter((r) => r.headers["x-pushed"] !== "yes")).toEqual([]);
  });
});
