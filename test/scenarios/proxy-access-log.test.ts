// Access logs from real `crema proxy` sidecars, turned on mesh-wide the way istiod's
// meshConfig.accessLogFile does (`crema control-plane --access-log-file`): Istio's default TEXT
// line and its JSON form, one line per request at each sidecar, with response flags for a local
// reply. Then the Telemetry API: an envoyFileAccessLog provider turned on by a mesh-wide Telemetry
// with a CEL filter, and off and on again for one workload, live. All meshes use subnet 49
// (different hosts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 49;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const dir = mkdtempSync(join(tmpdir(), "crema-access-log-"));

function config(echo: string, sleep: string): string {
  return `${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${podYaml({ name: "echo-1", ip: echo, labels: { app: "echo" }, ports: [8080] })}---
${podYaml({ name: "sleep", ip: sleep, labels: { app: "sleep" } })}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - match: [{uri: {prefix: /teapot}}]
    fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
    route: [{destination: {host: echo}}]
  - route: [{destination: {host: echo}}]
`;
}

/** A mesh of an echo pod with its sidecar and a sleep sidecar, logging to `file`. */
async function startLoggingMesh(host: number, file: string, extra: string[] = []) {
  const echo = ip(host);
  const sleep = ip(host + 1);
  const mesh = await startMesh(SUBNET, config(echo, sleep), {
    controlPlaneArgs: ["--access-log-file", file, ...extra],
  });
  await mesh.startEcho({ pod: "echo-1", ip: ip(host, 2) });
  await mesh.startProxy({
    pod: "echo-1",
    ip: echo,
    labels: { app: "echo" },
    appAddress: ip(host, 2),
  });
  await mesh.startProxy({ pod: "sleep", ip: sleep, labels: { app: "sleep" } });
  return { mesh, sleep };
}

function call(sidecar: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: sidecar,
        port: 15001,
        path: `http://echo${path}`,
        headers: { "user-agent": "test/1", ...headers },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The file's lines once it holds `count` of them that contain `marker` (up to 5 s). */
async function linesWith(file: string, marker: string, count: number): Promise<string[]> {
  let lines: string[] = [];
  return until(
    `${file} holds ${count} lines with ${marker}`,
    async () => {
      let text = "";
      try {
        text = readFileSync(file, "utf8");
      } catch {}
      lines = text.split("\n").filter((l) => l.includes(marker));
      return lines.length >= count && lines;
    },
    {
      timeoutMs: 5_000,
      intervalMs: 25,
      detail: () => `fewer than ${count} lines with ${marker}: ${JSON.stringify(lines)}`,
    },
  );
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Istio's default TEXT access log", () => {
  const file = join(dir, "text.log");
  let mesh: Mesh;
  let sleep: string;

  beforeAll(async () => {
    ({ mesh, sleep } = await startLoggingMesh(1, file));
  }, 60_000);
  afterAll(async () => mesh?.stop());

  it("writes one line per request at the source and at the destination", async () => {
    expect(await call(sleep, "/hello", { "x-request-id": "req-text-1" })).toBe(200);
    const lines = await linesWith(file, "req-text-1", 2);
    expect(lines).toHaveLength(2);
    const outbound = lines.find((l) => l.includes("outbound|80||echo.default.svc.cluster.local"));
    const inbound = lines.find((l) => l.includes("inbound|8080||"));
    expect(outbound).toBeDefined();
    expect(inbound).toBeDefined();
    // [START_TIME] "METHOD PATH PROTOCOL" CODE FLAGS DETAILS TERMINATION "FAILURE" RX TX DURATION …
    // … UPSTREAM_HOST UPSTREAM_CLUSTER UPSTREAM_LOCAL_ADDRESS (the sidecar's own, from its pod IP) …
    expect(outbound).toMatch(
      /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET \/hello HTTP\/1\.1" 200 - via_upstream - "-" 0 \d+ \d+ \d+ "-" "test\/1" "req-text-1" "echo" "127\.49\.1\.1:8080" outbound\|80\|\|echo\.default\.svc\.cluster\.local 127\.49\.2\.1:\d+ /,
    );
  });

  it("marks a request the client gave up on with DC and no response code", async () => {
    // The client sends its request and goes away; the echo would answer only after 5 s.
    const req = request({
      host: sleep,
      port: 15001,
      path: "http://echo/delay/5000",
      headers: { "user-agent": "test/1", "x-request-id": "req-text-dc" },
    });
    req.on("error", () => {});
    req.end(() => setImmediate(() => req.destroy()));
    const outbound = await until("the client sidecar logs the request", async () =>
      (await linesWith(file, "req-text-dc", 1)).find((l) => l.includes("outbound|80||echo")),
    );
    expect(outbound).toContain('"GET /delay/5000 HTTP/1.1" 0 DC ');
  });

  it("shows a local reply's code, flag and details", async () => {
    expect(await call(sleep, "/teapot", { "x-request-id": "req-text-2" })).toBe(418);
    const [line] = await linesWith(file, "req-text-2", 1);
    expect(line).toContain('"GET /teapot HTTP/1.1" 418 FI fault_filter_abort');
  });
});

describe("Istio's JSON access log", () => {
  const file = join(dir, "json.log");
  let mesh: Mesh;
  let sleep: string;

  beforeAll(async () => {
    ({ mesh, sleep } = await startLoggingMesh(3, file, ["--access-log-encoding", "JSON"]));
  }, 60_000);
  afterAll(async () => mesh?.stop());

  it("writes one JSON object per request with Istio's fields", async () => {
    expect(await call(sleep, "/json", { "x-request-id": "req-json-1" })).toBe(200);
    const lines = await linesWith(file, "req-json-1", 2);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const outbound = entries.find(
      (e) => e.upstream_cluster === "outbound|80||echo.default.svc.cluster.local",
    );
    expect(outbound).toMatchObject({
      method: "GET",
      path: "/json",
      protocol: "HTTP/1.1",
      response_code: 200,
      response_flags: "-",
      response_code_details: "via_upstream",
      authority: "echo",
      request_id: "req-json-1",
      user_agent: "test/1",
      upstream_host: "127.49.3.1:8080",
    });
    expect(typeof outbound!.duration).toBe("number");
    expect(typeof outbound!.bytes_sent).toBe("number");
    expect(entries.some((e) => String(e.upstream_cluster).startsWith("inbound|8080||"))).toBe(true);
  });
});

describe("Telemetry API access logging", () => {
  const file = join(dir, "telemetry.log");
  let mesh: Mesh;
  let sleep: string;
  let echoAdmin: string;
  let sleepAdmin: string;

  const MESH_CONFIG = `extensionProviders:
- name: file-log
  envoyFileAccessLog:
    path: ${file}
    logFormat:
      text: "%REQ(X-REQUEST-ID)% %RESPONSE_CODE% %UPSTREAM_CLUSTER_RAW%"
`;
  const MESH_WIDE = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  accessLogging:
  - providers: [{name: file-log}]
    filter: {expression: "response.code >= 400"}
`;
  const ECHO_QUIET = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: echo-quiet, namespace: default}
spec:
  selector: {matchLabels: {app: echo}}
  accessLogging: [{disabled: true}]
`;

  async function configDump(adminUrl: string): Promise<string> {
    return (await fetch(`${adminUrl}/config_dump`)).text();
  }

  /**
   * Resolves once each admin's config_dump does (or does not) mention the log file. Up to 8 s: a
   * test waits for this twice and for log lines twice (5 s each) inside its 30 s.
   */
  async function logging(expected: Record<string, boolean>): Promise<void> {
    let seen: Record<string, boolean> = {};
    await until(
      `access logging becomes ${JSON.stringify(expected)}`,
      async () => {
        const admins = Object.keys(expected);
        const dumps = await Promise.all(admins.map(configDump));
        seen = Object.fromEntries(admins.map((admin, k) => [admin, dumps[k]!.includes(file)]));
        return admins.every((admin) => seen[admin] === expected[admin]);
      },
      { timeoutMs: 8_000, intervalMs: 25, detail: () => `last seen ${JSON.stringify(seen)}` },
    );
  }

  /**
   * As in Envoy, a connection accepted before a listener update finishes its in-flight request
   * under the old filter chain and is then closed: one request moves the pooled sidecar-to-sidecar
   * connection onto the new chain.
   */
  async function drainOldConnections(): Promise<void> {
    expect(await call(sleep, "/", { "x-request-id": "t-drain" })).toBe(200);
  }

  beforeAll(async () => {
    const meshFile = join(dir, "mesh.yaml");
    writeFileSync(meshFile, MESH_CONFIG);
    const echo = ip(5);
    sleep = ip(6);
    mesh = await startMesh(SUBNET, config(echo, sleep), {
      controlPlaneArgs: ["--mesh-config", meshFile],
    });
    await mesh.startEcho({ pod: "echo-1", ip: ip(5, 2) });
    echoAdmin = (
      await mesh.startProxy({
        pod: "echo-1",
        ip: echo,
        labels: { app: "echo" },
        appAddress: ip(5, 2),
      })
    ).adminUrl;
    sleepAdmin = (await mesh.startProxy({ pod: "sleep", ip: sleep, labels: { app: "sleep" } }))
      .adminUrl;
  }, 60_000);
  afterAll(async () => mesh?.stop());

  it("logs nothing until a Telemetry turns a provider on, then only what its filter passes", async () => {
    expect(await call(sleep, "/before", { "x-request-id": "t-before" })).toBe(200);
    mesh.apply("10-telemetry.yaml", MESH_WIDE);
    await logging({ [echoAdmin]: true, [sleepAdmin]: true });
    expect(await call(sleep, "/fine", { "x-request-id": "t-fine" })).toBe(200);
    expect(await call(sleep, "/status/503", { "x-request-id": "t-error" })).toBe(503);
    // Both sidecars log the error; each wrote it after the earlier requests, so those are absent.
    const lines = await linesWith(file, "t-error", 2);
    expect(lines.sort()).toEqual([
      expect.stringMatching(/^t-error 503 inbound\|8080\|\|/),
      "t-error 503 outbound|80||echo.default.svc.cluster.local",
    ]);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("t-before");
    expect(text).not.toContain("t-fine");
  });

  it("turns logging off for one workload and back on, live", async () => {
    mesh.apply("11-echo-quiet.yaml", ECHO_QUIET);
    await logging({ [echoAdmin]: false, [sleepAdmin]: true });
    await drainOldConnections();
    expect(await call(sleep, "/status/500", { "x-request-id": "t-quiet" })).toBe(500);
    await linesWith(file, "t-quiet", 1);
    mesh.remove("11-echo-quiet.yaml");
    await logging({ [echoAdmin]: true, [sleepAdmin]: true });
    await drainOldConnections();
    expect(await call(sleep, "/status/500", { "x-request-id": "t-back" })).toBe(500);
    // The echo sidecar logs t-back after t-quiet would have been: t-quiet stays at one line.
    expect(await linesWith(file, "t-back", 2)).toHaveLength(2);
    const quiet = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.includes("t-quiet"));
    expect(quiet).toEqual(["t-quiet 500 outbound|80||echo.default.svc.cluster.local"]);
  });
});
