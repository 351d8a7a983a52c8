// HTTP routing through a real `crema proxy` sidecar driven by the real control plane with Istio
// YAML: weighted splits, matches, redirects, rewrites, header mutations, mirroring, faults, and
// the local runtime's HTTP proxy contract (absolute-form requests and terminated CONNECT).
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
  subsetsYaml,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 31;
let mesh: Mesh;
let sidecarIp: string;
let mirror: Server;
const mirrored: IncomingMessage[] = [];

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** What `curl -x http://<sidecar>:15001 URL` does: an absolute-form request to the sidecar. */
function call(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: sidecarIp, port: 15001, path: url, method, headers }, (res) => {
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

function podOf(reply: Reply): string {
  return String(reply.headers["x-crema-pod"]);
}

const CONFIG = (ip: (h: number) => string) => `
${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${serviceYaml("mirror")}---
${podYaml({ name: "echo-v1", ip: ip(1), labels: { app: "echo", version: "v1" }, ports: [8080] })}---
${podYaml({ name: "echo-v2", ip: ip(2), labels: { app: "echo", version: "v2" }, ports: [8080] })}---
${podYaml({ name: "mirror-1", ip: ip(3), labels: { app: "mirror" }, ports: [8080] })}---
${podYaml({ name: "sleep", ip: ip(9), labels: { app: "sleep" } })}---
${subsetsYaml("echo")}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - name: jason
    match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: echo, subset: v2}}]
  - name: and-match
    match: [{uri: {prefix: /and}, headers: {x-and: {exact: "yes"}}}]
    route: [{destination: {host: echo, subset: v2}}]
  - name: or-match
    match: [{uri: {prefix: /or-a}}, {uri: {prefix: /or-b}}]
    route: [{destination: {host: echo, subset: v2}}]
  - name: query
    match: [{queryParams: {flavour: {exact: mocha}}}]
    route: [{destination: {host: echo, subset: v2}}]
  - name: old
    match: [{uri: {prefix: /old-menu}}]
    redirect: {uri: /menu, authority: menu.coffee.com}
  - name: rewrite
    match: [{uri: {prefix: /api/v1}}]
    rewrite: {uri: /v2}
    route: [{destination: {host: echo, subset: v1}}]
  - name: headers
    match: [{uri: {prefix: /headers}}]
    headers:
      request:
        set: {x-barista: alice}
        add: {x-added: one}
        remove: [x-secret]
      response:
        set: {x-served-by: crema}
        remove: [x-crema-pod]
    route: [{destination: {host: echo, subset: v1}}]
  - name: mirror
    match: [{uri: {prefix: /mirror}}]
    mirror: {host: mirror}
    mirrorPercentage: {value: 100}
    route: [{destination: {host: echo, subset: v1}}]
  - name: abort
    match: [{headers: {x-fault: {exact: abort}}}]
    fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
    route: [{destination: {host: echo, subset: v1}}]
  - name: split
    route:
    - {destination: {host: echo, subset: v1}, weight: 70}
    - {destination: {host: echo, subset: v2}, weight: 30}
`;

beforeAll(async () => {
  const ip = (h: number) => `127.${SUBNET}.${h}.1`;
  mesh = await startMesh(SUBNET, CONFIG(ip));
  await mesh.startEcho({ pod: "echo-v1", ip: ip(1), version: "v1" });
  await mesh.startEcho({ pod: "echo-v2", ip: ip(2), version: "v2" });
  mirror = createServer((req, res) => {
    mirrored.push(req);
    req.resume();
    res.end("mirror");
  });
  await new Promise<void>((resolve) => mirror.listen(8080, ip(3), resolve));
  sidecarIp = ip(9);
  await mesh.startProxy({ pod: "sleep", ip: sidecarIp, labels: { app: "sleep" } });
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => mirror?.close(resolve));
  await mesh?.stop();
});

describe("HTTP routing through a sidecar", () => {
  it("splits traffic 70/30 between subsets", async () => {
    const counts: Record<string, number> = {};
    const total = 2000;
    const batch = 20;
    for (let i = 0; i < total; i += batch) {
      const replies = await Promise.all(
        Array.from({ length: batch }, () => call("http://echo/split")),
      );
      for (const r of replies) counts[podOf(r)] = (counts[podOf(r)] ?? 0) + 1;
    }
    // Binomial, 2000 draws at 30 %: outside 600 ± 110 with probability 1e-7 (the exact tails;
    // ±100, about 4.9σ, was 1.2e-6, the upper tail being heavier than the normal one).
    expect(counts["echo-v2"]).toBeGreaterThan(600 - 110);
    expect(counts["echo-v2"]).toBeLessThan(600 + 110);
    expect((counts["echo-v1"] ?? 0) + (counts["echo-v2"] ?? 0)).toBe(total);
  });

  it("matches headers, AND within a match, OR across matches, and query parameters", async () => {
    expect(podOf(await call("http://echo/", { "end-user": "jason" }))).toBe("echo-v2");
    expect(podOf(await call("http://echo/and", { "x-and": "yes" }))).toBe("echo-v2");
    const andMiss = await Promise.all(Array.from({ length: 20 }, () => call("http://echo/and")));
    expect(andMiss.some((r) => podOf(r) === "echo-v1")).toBe(true);
    for (let i = 0; i < 10; i++) {
      expect(podOf(await call("http://echo/or-a"))).toBe("echo-v2");
      expect(podOf(await call("http://echo/or-b/x"))).toBe("echo-v2");
      expect(podOf(await call("http://echo/?flavour=mocha"))).toBe("echo-v2");
    }
  });

  it("redirects with 301 and a Location", async () => {
    const reply = await call("http://echo/old-menu?size=large");
    expect(reply.status).toBe(301);
    expect(reply.headers.location).toBe("http://menu.coffee.com/menu?size=large");
  });

  it("rewrites the path the backend sees and keeps the original in x-envoy-original-path", async () => {
    const reply = await call("http://echo/api/v1/orders");
    const seen = JSON.parse(reply.body);
    expect(seen.path).toBe("/v2/orders");
    expect(seen.headers["x-envoy-original-path"]).toBe("/api/v1/orders");
  });

  it("sets, adds and removes request and response headers", async () => {
    const reply = await call("http://echo/headers", { "x-secret": "s3cret", "x-barista": "bob" });
    const seen = JSON.parse(reply.body);
    expect(seen.headers["x-barista"]).toBe("alice");
    expect(seen.headers["x-added"]).toBe("one");
    expect(seen.headers["x-secret"]).toBeUndefined();
    expect(reply.headers["x-served-by"]).toBe("crema");
    expect(reply.headers["x-crema-pod"]).toBeUndefined();
  });

  it("mirrors requests to the mirror service while the client sees only the primary", async () => {
    const before = mirrored.length;
    const reply = await call("http://echo/mirror/1", { "x-trace": "m1" });
    expect(podOf(reply)).toBe("echo-v1");
    expect(reply.body).not.toBe("mirror");
    const copy = await until("the mirror gets its copy", async () =>
      mirrored.slice(before).find((r) => r.headers["x-trace"] === "m1"),
    );
    // Istio ≥ 1.28 keeps the original Host on mirrored requests (no "-shadow" suffix).
    expect(copy.headers.host).toBe("echo");
    expect(copy.url).toBe("/mirror/1");
    // The copy carries the caller's peer metadata, as the primary does: a mirror's sidecar
    // reports who called.
    expect(copy.headers["x-envoy-peer-metadata-id"]).toMatch(/^sidecar~/);
    expect(copy.headers["x-envoy-peer-metadata"]).toBeTruthy();
  });

  it("injects aborts from the fault filter", async () => {
    const reply = await call("http://echo/", { "x-fault": "abort" });
    expect(reply.status).toBe(418);
    expect(reply.body).toBe("fault filter abort");
  });

  it("terminates a CONNECT to an HTTP service and routes the requests inside the tunnel", async () => {
    const socket = connect(15001, sidecarIp);
    socket.setEncoding("utf8");
    let received = "";
    socket.on("data", (c: string) => {
      received += c;
    });
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    socket.write("CONNECT echo:80 HTTP/1.1\r\nhost: echo:80\r\n\r\n");
    while (!received.includes("\r\n\r\n")) await new Promise((r) => socket.once("data", r));
    expect(received.startsWith("HTTP/1.1 200")).toBe(true);
    received = "";
    socket.write("GET /api/v1/tunnel HTTP/1.1\r\nhost: echo\r\nconnection: close\r\n\r\n");
    await new Promise((r) => socket.once("end", r));
    expect(received).toMatch(/^HTTP\/1\.1 200/);
    expect(received).toContain('"path":"/v2/tunnel"');
  });
});
