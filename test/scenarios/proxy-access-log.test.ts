// Access logs from real `crema proxy` sidecars, turned on mesh-wide the way istiod's
// meshConfig.accessLogFile does (`crema control-plane --access-log-file`): Istio's default TEXT
// line and its JSON form, one line per request at each sidecar, with response flags for a local
// reply. Both meshes use subnet 49 (different hosts).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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

/** The file's lines once it holds `count` of them that contain `marker`. */
async function linesWith(file: string, marker: string, count: number): Promise<string[]> {
  for (let i = 0; i < 200; i++) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {}
    const lines = text.split("\n").filter((l) => l.includes(marker));
    if (lines.length >= count) return lines;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${count} lines with ${marker} in ${file}`);
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
    expect(outbound).toMatch(
      /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET \/hello HTTP\/1\.1" 200 - via_upstream - "-" 0 \d+ \d+ \d+ "-" "test\/1" "req-text-1" "echo" "127\.49\.1\.1:8080" outbound\|80\|\|echo\.default\.svc\.cluster\.local /,
    );
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
