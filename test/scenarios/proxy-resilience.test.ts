// Resilience through a real `crema proxy` sidecar driven by the real control plane with Istio
// YAML: route timeouts, retries, outlier detection (ejection and readmission), circuit breakers,
// fault abort and delay ratios, consistent-hash stickiness and locality failover.
import { createServer, request, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EchoPod,
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  type ProxyProcess,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 32;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const cluster = (service: string) => `outbound|80||${service}.default.svc.cluster.local`;
let mesh: Mesh;
let sidecar: ProxyProcess;
const switchable: SwitchablePod[] = [];
const echoes = new Map<string, EchoPod>();

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Client-side time from sending the request to the end of the response, ms. */
  elapsedMs: number;
}

/** What `curl -x http://<sidecar>:15001 URL` does: an absolute-form request to the sidecar. */
function call(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: sidecar.ip, port: 15001, path: url, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          elapsedMs: performance.now() - started,
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

function podOf(reply: Reply): string {
  return String(reply.headers["x-crema-pod"]);
}

/** `count` requests, `batch` at a time. */
async function callMany(count: number, batch: number, url: string): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    replies.push(...(await Promise.all(Array.from({ length: n }, () => call(url)))));
  }
  return replies;
}

/** A pod whose app answers 200 or, when `failing`, 503 — the failure a test injects. */
interface SwitchablePod {
  name: string;
  hits: number;
  failing: boolean;
  server: Server;
}

async function startSwitchablePod(
  name: string,
  address: string,
  failing: boolean,
): Promise<SwitchablePod> {
  const pod: SwitchablePod = { name, hits: 0, failing, server: createServer() };
  pod.server.on("request", (req, res) => {
    pod.hits++;
    req.resume();
    res.setHeader("x-crema-pod", name);
    if (pod.failing) {
      res.statusCode = 503;
      res.end("injected failure");
    } else {
      res.end(JSON.stringify({ pod: name }));
    }
  });
  await new Promise<void>((resolve) => pod.server.listen(8080, address, resolve));
  switchable.push(pod);
  return pod;
}

/** `/clusters` health flags of `address:8080` in `clusterName` (undefined while unknown). */
async function healthFlags(clusterName: string, address: string): Promise<string | undefined> {
  const text = await (await fetch(`${sidecar.adminUrl}/clusters`)).text();
  const prefix = `${clusterName}::${address}:8080::health_flags::`;
  const line = text.split("\n").find((l) => l.startsWith(prefix));
  return line?.slice(prefix.length);
}

async function counterValue(name: string): Promise<number> {
  const text = await (
    await fetch(`${sidecar.adminUrl}/stats?filter=${encodeURIComponent(name)}`)
  ).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}: `));
  return line ? Number(line.slice(name.length + 2)) : 0;
}

/** Polls `check` until it returns true (by default for up to 5 s, 25 ms apart); on timeout the
 * error shows the sidecar's logs. */
async function eventually(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 5_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  await until(what, check, { timeoutMs, intervalMs, detail: () => sidecar.logs() });
}

function service(name: string): string {
  return `${serviceYaml(name)}---\n`;
}

function pod(name: string, address: string, app: string, extra: Record<string, string> = {}) {
  return `${podYaml({ name, ip: address, labels: { app, ...extra }, ports: [8080] })}---\n`;
}

const zone = (region: string, zoneName: string) => ({
  "topology.kubernetes.io/region": region,
  "topology.kubernetes.io/zone": zoneName,
});

const CONFIG = `
${INJECTED_NAMESPACE_YAML}---
${["slow", "flaky", "od", "cb", "faulty", "sticky", "geo"].map(service).join("")}
${pod("slow-1", ip(1), "slow")}
${pod("flaky-good", ip(2), "flaky")}
${pod("flaky-bad", ip(3), "flaky")}
${pod("od-good", ip(4), "od")}
${pod("od-bad", ip(5), "od")}
${pod("cb-1", ip(6), "cb")}
${pod("faulty-1", ip(7), "faulty")}
${pod("sticky-1", ip(8, 1), "sticky")}
${pod("sticky-2", ip(8, 2), "sticky")}
${pod("sticky-3", ip(8, 3), "sticky")}
${pod("geo-local", ip(10, 1), "geo", zone("r1", "z1"))}
${pod("geo-zone", ip(10, 2), "geo", zone("r1", "z2"))}
${pod("geo-far", ip(10, 3), "geo", zone("r2", "z3"))}
${pod("sleep", ip(20), "sleep", zone("r1", "z1"))}
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: slow, namespace: default}
spec:
  hosts: [slow]
  http:
  - timeout: 2s
    route: [{destination: {host: slow}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: flaky, namespace: default}
spec:
  hosts: [flaky]
  http:
  - match: [{uri: {prefix: /retry-5xx}}]
    retries: {attempts: 3, retryOn: 5xx}
    route: [{destination: {host: flaky}}]
  - match: [{uri: {prefix: /retry-gateway}}]
    retries: {attempts: 3, retryOn: gateway-error}
    route: [{destination: {host: flaky}}]
  - match: [{uri: {prefix: /attempts-only}}]
    retries: {attempts: 3}
    route: [{destination: {host: flaky}}]
  - route: [{destination: {host: flaky}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: od, namespace: default}
spec:
  host: od
  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 50ms
      baseEjectionTime: 5s
      maxEjectionPercent: 100
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cb, namespace: default}
spec:
  host: cb
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: faulty, namespace: default}
spec:
  hosts: [faulty]
  http:
  - match: [{uri: {prefix: /abort}}]
    fault: {abort: {httpStatus: 503, percentage: {value: 50}}}
    route: [{destination: {host: faulty}}]
  - match: [{uri: {prefix: /slowdown}}]
    fault: {delay: {fixedDelay: 4s, percentage: {value: 20}}}
    timeout: 2s
    route: [{destination: {host: faulty}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: sticky, namespace: default}
spec:
  host: sticky
  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: x-user}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: geo, namespace: default}
spec:
  host: geo
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN, localityLbSetting: {enabled: true}}
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 50ms
      baseEjectionTime: 30s
      maxEjectionPercent: 100
`;

beforeAll(async () => {
  mesh = await startMesh(SUBNET, CONFIG);
  const echo = async (name: string, address: string) => {
    echoes.set(name, await mesh.startEcho({ pod: name, ip: address }));
  };
  await Promise.all([
    echo("slow-1", ip(1)),
    echo("flaky-good", ip(2)),
    startSwitchablePod("flaky-bad", ip(3), true),
    echo("od-good", ip(4)),
    startSwitchablePod("od-bad", ip(5), true),
    echo("cb-1", ip(6)),
    echo("faulty-1", ip(7)),
    echo("sticky-1", ip(8, 1)),
    echo("sticky-2", ip(8, 2)),
    echo("sticky-3", ip(8, 3)),
    echo("geo-local", ip(10, 1)),
    echo("geo-zone", ip(10, 2)),
    echo("geo-far", ip(10, 3)),
  ]);
  sidecar = await mesh.startProxy({
    pod: "sleep",
    ip: ip(20),
    labels: { app: "sleep", ...zone("r1", "z1") },
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(
    switchable.map((p) => {
      p.server.closeAllConnections();
      return new Promise((resolve) => p.server.close(resolve));
    }),
  );
  await mesh?.stop();
});

describe("resilience through a sidecar", () => {
  it("answers 504 'upstream request timeout' when the route timeout passes", async () => {
    const fast = await call("http://slow/");
    expect(fast.status).toBe(200);
    // Envoy tells the upstream how long it will wait.
    expect(JSON.parse(fast.body).headers["x-envoy-expected-rq-timeout-ms"]).toBe("2000");
    const before = await counterValue(`cluster.${cluster("slow")}.upstream_rq_timeout`);
    const reply = await call("http://slow/delay/5000");
    expect(reply.status).toBe(504);
    expect(reply.body).toBe("upstream request timeout");
    expect(await counterValue(`cluster.${cluster("slow")}.upstream_rq_timeout`)).toBe(before + 1);
  });

  it("retries an injected 503 on another pod with retryOn 5xx and gateway-error", async () => {
    const bad = switchable.find((p) => p.name === "flaky-bad")!;
    const hitsBefore = bad.hits;
    for (const path of ["/retry-5xx", "/retry-gateway"]) {
      const replies = await callMany(40, 4, `http://flaky${path}`);
      for (const r of replies) {
        expect(r.status).toBe(200);
        expect(podOf(r)).toBe("flaky-good");
      }
      // Istio sets include_request_attempt_count: a retried request says it is attempt 2.
      const attempts = replies.map((r) => JSON.parse(r.body).headers["x-envoy-attempt-count"]);
      expect(attempts).toContain("2");
    }
    // Two random pods over 80 requests: the failing one was certainly tried (2^-80).
    expect(bad.hits).toBeGreaterThan(hitsBefore);
  });

  it("does not retry an app's own 503 under the default policy or attempts without retryOn", async () => {
    const bad = switchable.find((p) => p.name === "flaky-bad")!;
    for (const path of ["/", "/attempts-only"]) {
      const hitsBefore = bad.hits;
      const replies = await callMany(40, 4, `http://flaky${path}`);
      const failed = replies.filter((r) => r.status === 503);
      expect(failed.length).toBeGreaterThan(0);
      for (const r of failed) {
        expect(r.body).toBe("injected failure");
        expect(podOf(r)).toBe("flaky-bad");
      }
      // Every request that reached the failing pod came back as its 503: none was retried.
      expect(bad.hits - hitsBefore).toBe(failed.length);
      expect(replies.filter((r) => r.status === 200).length).toBe(40 - failed.length);
    }
  });

  it("ejects a pod returning 5xx, sends traffic only to the healthy one, and readmits it", {
    timeout: 60_000,
  }, async () => {
    const bad = switchable.find((p) => p.name === "od-bad")!;
    // consecutive5xxErrors 1: the first 503 it returns ejects it.
    await eventually(
      "od-bad has answered once",
      async () => {
        await call("http://od/");
        return bad.hits > 0;
      },
      { intervalMs: 10 },
    );
    expect(await healthFlags(cluster("od"), ip(5))).toBe("/failed_outlier_check");
    const hitsAtEjection = bad.hits;
    const replies = await callMany(30, 3, "http://od/");
    for (const r of replies) expect(`${r.status} ${podOf(r)}`).toBe("200 od-good");
    expect(bad.hits).toBe(hitsAtEjection);

    // The pod recovers; after baseEjectionTime (5 s: long enough that the checks above run
    // while it is still ejected, however slow the machine) the detector's interval readmits it.
    bad.failing = false;
    await eventually(
      "od-bad is readmitted",
      async () => (await healthFlags(cluster("od"), ip(5))) === "healthy",
      { timeoutMs: 20_000 },
    );
    await eventually(
      "od-bad gets traffic again",
      async () => podOf(await call("http://od/")) === "od-bad",
      { intervalMs: 10 },
    );
  });

  it("answers 503 with x-envoy-overloaded when the connection pool overflows", async () => {
    const stat = `cluster.${cluster("cb")}.upstream_rq_pending_overflow`;
    const before = await counterValue(stat);
    // One connection and one pending request: of 10 concurrent requests that each hold the
    // connection for 3 s (so all ten arrive while it is held, even on a stalled machine), the
    // rest overflow at once. The limits are the proxy's, shared by its 2
    // threads (the CLI's default --concurrency), but, as in Envoy, a thread whose pool has no
    // connection opens one past max_connections (Istio's circuit-breaking task calls it leeway):
    // up to one served per thread, and at most one waits.
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => call("http://cb/delay/3000")),
    );
    const ok = replies.filter((r) => r.status === 200);
    const overflowed = replies.filter((r) => r.status === 503);
    expect(ok.length + overflowed.length).toBe(10);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok.length).toBeLessThanOrEqual(3);
    for (const r of overflowed) {
      expect(r.headers["x-envoy-overloaded"]).toBe("true");
      expect(r.body).toBe(
        "upstream connect error or disconnect/reset before headers. reset reason: overflow",
      );
    }
    expect(await counterValue(stat)).toBe(before + overflowed.length);

    // maxRequestsPerConnection 1: every request comes on a new upstream connection.
    const ports = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const reply = await call("http://cb/");
      expect(reply.status).toBe(200);
      ports.add(JSON.parse(reply.body).remotePort);
    }
    expect(ports.size).toBe(5);
  });

  it("aborts 50 % of requests", async () => {
    const total = 1000;
    const replies = await callMany(total, 50, "http://faulty/abort");
    const aborted = replies.filter((r) => r.status === 503);
    for (const r of aborted) expect(r.body).toBe("fault filter abort");
    expect(replies.filter((r) => r.status === 200).length).toBe(total - aborted.length);
    // σ ≈ 15.8 for 1000 draws at 50 %; ±80 is ~5.1σ (fails less than once in a million runs).
    expect(aborted.length).toBeGreaterThan(500 - 80);
    expect(aborted.length).toBeLessThan(500 + 80);
  });

  it("delays 20 % of requests by the fixed delay, outside the route timeout", {
    timeout: 60_000,
  }, async () => {
    const total = 400;
    const replies = await callMany(total, 200, "http://faulty/slowdown");
    // The injected delay does not count against the route's 2 s timeout.
    for (const r of replies) expect(r.status).toBe(200);
    // A delayed request cannot take less than the 4 s delay (slack for timer rounding); an
    // undelayed one to a local echo takes milliseconds (seconds under a stalled machine), so the
    // two cannot be confused.
    const delayed = replies.filter((r) => r.elapsedMs >= 3900).length;
    // Binomial, 400 draws at 20 %: outside (40, 125) with probability 1.2e-7 (the exact tails;
    // 80 ± 40, 5σ, was 1.3e-6, the upper tail being heavier than the normal one).
    expect(delayed).toBeGreaterThan(40);
    expect(delayed).toBeLessThan(125);
  });

  it("keeps a header value on one pod with consistentHash and spreads different values", async () => {
    const podByUser = new Map<string, string>();
    for (let user = 0; user < 20; user++) {
      const replies = await Promise.all(
        Array.from({ length: 10 }, () => call("http://sticky/", { "x-user": `user-${user}` })),
      );
      const pods = new Set(replies.map(podOf));
      expect(pods.size).toBe(1);
      podByUser.set(`user-${user}`, [...pods][0]!);
    }
    // 20 users on one of 3 pods by chance: about 3·3^-20.
    expect(new Set(podByUser.values()).size).toBeGreaterThan(1);
  });

  it("keeps traffic in the local zone and fails over to the nearest zone when it fails", async () => {
    const local = await callMany(30, 3, "http://geo/");
    for (const r of local) expect(`${r.status} ${podOf(r)}`).toBe("200 geo-local");

    // The local zone's only pod goes away: connect failures eject it.
    await echoes.get("geo-local")!.server.stop({ drainTimeoutMs: 0 });
    await eventually(
      "traffic reaches geo-zone",
      async () => podOf(await call("http://geo/")) === "geo-zone",
      { intervalMs: 10 },
    );
    expect(await healthFlags(cluster("geo"), ip(10, 1))).toBe("/failed_outlier_check");
    // Same region, other zone (priority 1) before the other region (priority 2).
    const failedOver = await callMany(30, 3, "http://geo/");
    for (const r of failedOver) expect(`${r.status} ${podOf(r)}`).toBe("200 geo-zone");
  });
});
