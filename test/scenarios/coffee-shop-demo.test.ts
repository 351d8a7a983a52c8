// The coffee-shop demo end to end, the way docs/demo.md walks a user through it: `crema up
// examples/coffee-shop --detach`, then each file of examples/coffee-shop/traffic/ applied with
// `crema apply`, and what the seed article says you will see, seen through `crema exec` (the
// sleep pod's sidecar) and through the ingress gateway. Pods live in 127.57.0.0/16.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { meshSynced, ownAddresses, runCrema } from "./support/crema-cli.ts";
import { until } from "./support/until.ts";

const POD_CIDR = "127.57.0.0/16";
const DEMO = "examples/coffee-shop";
const TRAFFIC = `${DEMO}/traffic`;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: {
    version?: string;
    pod?: string;
    path?: string;
    headers?: Record<string, string>;
  } & Record<string, unknown>;
  ms: number;
}

let stateDir: string;
let ingressPort: number;
let ingressTlsPort: number;
let controlPlaneUrl: string;

const crema = (args: string[]) => runCrema(args, stateDir);

/** Sends requests from inside `pod` with Node's fetch (through the pod's sidecar). */
async function fromPod(
  pod: string,
  requests: Array<{
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
  }>,
  options: { repeat?: number; concurrency?: number } = {},
): Promise<Answer[]> {
  const spec = JSON.stringify({ requests, ...options });
  const run = await crema(["exec", pod, "--", "node", "test/scenarios/support/requests.ts", spec]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Answer);
}

const fromSleep = (url: string, headers?: Record<string, string>, repeat = 1) =>
  fromPod("sleep", [{ url, ...(headers ? { headers } : {}) }], { repeat });

const versions = (answers: readonly Answer[]) => answers.map((a) => a.body.version);
const count = <T>(items: readonly T[], item: T) => items.filter((i) => i === item).length;

interface ProxySync {
  nodeId: string;
  types: Array<{ lastSent?: { nonce: string }; lastAck?: { nonce: string } }>;
}

const syncz = async () =>
  (await (await fetch(`${controlPlaneUrl}/debug/syncz`)).json()) as ProxySync[];

/** The control plane's configuration version (every push follows a new one). */
async function configVersion(): Promise<string> {
  const [proxy] = await syncz();
  const dump = await fetch(
    `${controlPlaneUrl}/debug/config_dump?proxyID=${encodeURIComponent(proxy!.nodeId)}`,
  );
  return ((await dump.json()) as { version: string }).version;
}

/** The proxies that have not ACKed the last response of every type they were sent. */
async function unsynced(): Promise<string[]> {
  return (await syncz())
    .filter((proxy) => proxy.types.some((t) => t.lastSent && t.lastAck?.nonce !== t.lastSent.nonce))
    .map((proxy) => proxy.nodeId);
}

/**
 * `crema apply -f FILE`, then waits until every proxy has ACKed the push it caused. The
 * configuration version moves before the push reaches every connection (it goes out in slices,
 * and a connection not written yet still shows its last ACK), so the wait is the runtime's own
 * readiness, which also counts pushes in progress.
 */
async function apply(file: string): Promise<void> {
  const before = await configVersion();
  const run = await crema(["apply", "-f", file]);
  expect(run.code, run.stderr).toBe(0);
  if (run.stdout.includes("unchanged")) return;
  let moved = false;
  let behind: string[] = [];
  // Some tests apply three files: each wait stays well inside a test's 30 s.
  await until(
    `the proxies converge after applying ${file}`,
    async () => {
      moved = (await configVersion()) !== before;
      if (!moved) return false;
      if (await meshSynced(stateDir)) return true;
      behind = await unsynced();
      return false;
    },
    {
      timeoutMs: 8_000,
      detail: () =>
        moved
          ? `not synced yet; not ACKed by: ${behind.join(", ") || "none (a push is still going out)"}`
          : `the configuration version stayed ${before}`,
    },
  );
}

/** GET on the ingress gateway's host port with a Host header. */
function throughGateway(
  path: string,
  host = "coffee.example.com",
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port: ingressPort, path, headers: { host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .once("error", reject)
      .end();
  });
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "crema-demo-"));
  const up = await crema(["up", DEMO, "--detach", ...ownAddresses(POD_CIDR)]);
  expect(up.code, `${up.stdout}${up.stderr}`).toBe(0);
  const status = JSON.parse((await crema(["status", "-o", "json"])).stdout);
  ingressPort = Number(new URL(status.ingress.http).port);
  ingressTlsPort = Number(new URL(status.ingress.https).port);
  const { readRuntimeState } = await import("../../src/runtime/runtime-state.ts");
  controlPlaneUrl = readRuntimeState(stateDir).controlPlaneUrl;
}, 120_000);

afterAll(async () => {
  await crema(["down"]);
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe("the coffee shop through its ingress gateway", () => {
  it("serves the shop, redirects /menu.html and rewrites /api/orders", async () => {
    const page = await throughGateway("/");
    expect(page.status).toBe(200);
    expect(page.body).toContain("<form");
    const redirect = await throughGateway("/menu.html");
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe("http://coffee.example.com/menu");
    const rewritten = await throughGateway("/api/orders/42");
    expect(JSON.parse(rewritten.body)).toMatchObject({
      service: "order-service",
      path: "/orders/42",
    });
  });

  it("serves HTTPS with the certificate the Gateway's credentialName names (over SDS)", async () => {
    const secret = parseAllDocuments(readFileSync(`${DEMO}/20-gateway.yaml`, "utf8"))
      .map((d) => d.toJSON() as { kind?: string; data?: Record<string, string> })
      .find((d) => d?.kind === "Secret");
    const ca = Buffer.from(secret!.data!["tls.crt"]!, "base64").toString();
    const reply = await new Promise<{ status: number; body: string; subject: string }>(
      (resolve, reject) => {
        httpsRequest(
          {
            host: "127.0.0.1",
            port: ingressTlsPort,
            path: "/",
            servername: "coffee.example.com",
            headers: { host: "coffee.example.com" },
            ca,
          },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              body += chunk;
            });
            const peer = (res.socket as TLSSocket).getPeerCertificate();
            res.once("end", () =>
              resolve({ status: res.statusCode ?? 0, body, subject: String(peer.subjectaltname) }),
            );
          },
        )
          .once("error", reject)
          .end();
      },
    );
    expect(reply.status).toBe(200);
    expect(reply.body).toContain("<form");
    expect(reply.subject).toContain("DNS:coffee.example.com");
  });

  it("takes an order: order-service calls payment-service and inventory-service through its sidecar", async () => {
    const [order] = await fromPod("sleep", [
      {
        url: "http://order-service/orders",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ drink: "latte", size: "large", quantity: 1, customer: "ada" }),
      },
    ]);
    expect(order!.status).toBe(201);
    expect(JSON.stringify(order!.body)).toContain("payment-service");
    expect(JSON.stringify(order!.body)).toContain("inventory-service");
  });
});

describe("the seed article's traffic examples, applied live", () => {
  it("weight-70-30.yaml splits customer-service 70/30 between v1 and v2", async () => {
    await apply(`${TRAFFIC}/weight-70-30.yaml`);
    const answers = await fromPod("sleep", [{ url: "http://customer-service/" }], {
      repeat: 1000,
      concurrency: 16,
    });
    const seen = versions(answers);
    expect(count(seen, "v1") + count(seen, "v2")).toBe(1000);
    // 700 ± 75 is beyond five standard deviations (14.5) of a fair 70/30 split.
    expect(Math.abs(count(seen, "v1") - 700)).toBeLessThanOrEqual(75);
  });

  it("match-user-agent.yaml sends Firefox to v1 and everyone else to v2", async () => {
    await apply(`${TRAFFIC}/match-user-agent.yaml`);
    const firefox = await fromSleep(
      "http://customer-service/",
      { "user-agent": "Mozilla/5.0 Firefox/128.0" },
      10,
    );
    expect(new Set(versions(firefox))).toEqual(new Set(["v1"]));
    const others = await fromSleep("http://customer-service/", { "user-agent": "curl/8" }, 10);
    expect(new Set(versions(others))).toEqual(new Set(["v2"]));
  });

  it("redirect.yaml answers 301 from the sidecar", async () => {
    await apply(`${TRAFFIC}/redirect.yaml`);
    const [answer] = await fromSleep("http://customer-service/v1/hello");
    expect(answer!.status).toBe(301);
    expect(answer!.headers.location).toBe(
      "http://customer-service.coffee-shop.svc.cluster.local/v2/hello",
    );
  });

  it("rewrite.yaml rewrites the path the backend sees", async () => {
    await apply(`${TRAFFIC}/rewrite.yaml`);
    const [answer] = await fromSleep("http://customer-service/v1/api/profiles?page=2");
    expect(answer!.status).toBe(200);
    expect(answer!.body.path).toBe("/v2/api/profiles?page=2");
  });

  it("mirror.yaml answers from v1 and copies every request to v2", async () => {
    await apply(`${TRAFFIC}/mirror.yaml`);
    const marker = `mirror-${Date.now()}`;
    const answers = await fromSleep(`http://customer-service/${marker}`, undefined, 3);
    expect(new Set(versions(answers))).toEqual(new Set(["v1"]));
    // The copies are fire-and-forget: wait until v2's log shows all three.
    let copies = 0;
    await until(
      "v2's log shows the three copies",
      async () => {
        const logs = await crema(["logs", "customer-service-v2"]);
        copies = logs.stdout.split("\n").filter((line) => line.includes(`/${marker}`)).length;
        return copies >= 3;
      },
      { timeoutMs: 15_000, detail: () => `copies seen: ${copies}` },
    );
    expect(copies).toBe(3);
  });

  it("headers.yaml sets a request header, and removes a response header from v1's answers only", async () => {
    await apply(`${TRAFFIC}/headers.yaml`);
    const answers = await fromSleep(
      "http://customer-service/?set-header=x-api-key:s3cret",
      undefined,
      60,
    );
    for (const answer of answers) {
      expect(answer.body.headers?.debug).toBe("true");
      expect(answer.headers["x-api-key"]).toBe(answer.body.version === "v2" ? "s3cret" : undefined);
    }
    // Both versions answered (P(no v2 in 60 at 30 %) < 1e-9).
    expect(new Set(versions(answers))).toEqual(new Set(["v1", "v2"]));
  });

  it("match-and.yaml needs both conditions; match-or.yaml either", async () => {
    const both = { url: "http://customer-service/v1/x", headers: { user: "debug" } };
    const pathOnly = { url: "http://customer-service/v1/x" };
    const headerOnly = { url: "http://customer-service/other", headers: { user: "debug" } };
    const neither = { url: "http://customer-service/other" };
    await apply(`${TRAFFIC}/match-and.yaml`);
    expect(versions(await fromPod("sleep", [both, pathOnly, headerOnly, neither]))).toEqual([
      "v2",
      "v1",
      "v1",
      "v1",
    ]);
    await apply(`${TRAFFIC}/match-or.yaml`);
    expect(versions(await fromPod("sleep", [both, pathOnly, headerOnly, neither]))).toEqual([
      "v2",
      "v2",
      "v2",
      "v1",
    ]);
  });

  it("timeout.yaml gives 504 when the backend is slower than the route's timeout", async () => {
    await apply(`${TRAFFIC}/timeout.yaml`);
    const [slow] = await fromSleep("http://customer-service/delay/7s");
    expect(slow!.status).toBe(504);
    expect(slow!.body).toBe("upstream request timeout");
  }, 30_000);

  it("retries.yaml retries a gateway error three times", async () => {
    await apply(`${TRAFFIC}/retries.yaml`);
    const marker = `retry-${Date.now()}`;
    const [answer] = await fromSleep(`http://customer-service/status/503?${marker}`);
    expect(answer!.status).toBe(503);
    // Every attempt is a line in some customer-service pod's log: 1 try + 3 retries.
    const { pods } = JSON.parse((await crema(["status", "-o", "json"])).stdout) as {
      pods: Array<{ name: string; deployment: string }>;
    };
    const logs = await Promise.all(
      pods
        .filter((p) => p.deployment.startsWith("customer-service"))
        .map((p) => crema(["logs", p.name])),
    );
    const attempts = logs
      .flatMap((l) => l.stdout.split("\n"))
      .filter((line) => line.includes(marker));
    expect(attempts).toHaveLength(4);
  });

  it("outlier-detection.yaml ejects the pod that answered 5xx", async () => {
    await apply(`${TRAFFIC}/timeout.yaml`); // every request to v1 (two pods)
    await apply(`${TRAFFIC}/outlier-detection.yaml`);
    const [failed] = await fromSleep("http://customer-service/status/500");
    expect(failed!.status).toBe(500);
    const ejected = failed!.headers["x-coffee-pod"];
    expect(ejected).toBeTruthy();
    const after = await fromSleep("http://customer-service/", undefined, 30);
    expect(after.every((a) => a.status === 200)).toBe(true);
    // Without the ejection the failed pod would get about half of these (P(none) < 1e-9).
    expect(after.map((a) => a.body.pod)).not.toContain(ejected);

    // The other v1 pod now gets every request; once it fails too, v1 has no host left. Istio
    // turns Envoy's panic mode off (healthy_panic_threshold 0), so the sidecar answers 503 at
    // once instead of balancing over the ejected hosts anyway.
    const [second] = await fromSleep("http://customer-service/status/500");
    expect(second!.status).toBe(500);
    expect(second!.headers["x-coffee-pod"]).not.toBe(ejected);
    const none = await fromSleep("http://customer-service/", undefined, 10);
    for (const a of none) expect([a.status, a.body]).toEqual([503, "no healthy upstream"]);

    // The demo's own DestinationRule again (its outlier detection is different, so the callers
    // start counting afresh): the ejections would otherwise last 3 minutes.
    await apply(`${DEMO}/30-routing.yaml`);
    const back = await fromSleep("http://customer-service/", undefined, 10);
    expect(back.map((a) => a.status)).toEqual(Array(10).fill(200));
  });

  it("fault-injection.yaml aborts about 30 % and delays some", async () => {
    await apply(`${TRAFFIC}/fault-injection.yaml`);
    const answers = await fromPod("sleep", [{ url: "http://customer-service/" }], {
      repeat: 400,
      concurrency: 32,
    });
    const aborted = answers.filter((a) => a.status === 404);
    expect(aborted.every((a) => (a.body as unknown) === "fault filter abort")).toBe(true);
    expect(
      aborted.length +
        count(
          answers.map((a) => a.status),
          200,
        ),
    ).toBe(400);
    // 120 ± 46 is five standard deviations (9.2) of 30 % of 400.
    expect(Math.abs(aborted.length - 120)).toBeLessThanOrEqual(46);
    // 5 % of 400 are delayed by 3 s (P(none) < 1e-8).
    expect(answers.some((a) => a.ms >= 2900)).toBe(true);
  }, 60_000);

  it("registry-only.yaml (REGISTRY_ONLY) blocks unknown hosts with 502; an external ServiceEntry is reachable", async () => {
    await apply(`${TRAFFIC}/registry-only.yaml`);
    const [unknown] = await fromSleep("http://example.org/");
    expect(unknown!.status).toBe(502);
    // curl sends absolute-form where Node's fetch tunnels: the same answer.
    const curl = await crema([
      "exec",
      "sleep",
      "--",
      "curl",
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "http://example.org/",
    ]);
    expect(curl.stdout).toBe("502");
    const [before] = await fromSleep("http://api.payments.example.com/");
    expect(before!.status).toBe(502);
    await apply(`${TRAFFIC}/external-api.yaml`);
    const [after] = await fromSleep("http://api.payments.example.com/");
    // Known to the mesh now: sent out, and its fictional name has no address to reach.
    expect(after!.status).toBe(503);

    // A payment provider's sandbox outside the mesh (a server of this test), entered in the
    // registry with its address: reachable through the sidecar despite REGISTRY_ONLY.
    const sandbox = createServer((req, res) =>
      res.end(JSON.stringify({ sandbox: true, host: req.headers.host })),
    );
    await new Promise<void>((resolve) => sandbox.listen(8080, "127.57.250.1", resolve));
    try {
      const file = join(stateDir, "sandbox.yaml");
      writeFileSync(
        file,
        `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: payments-sandbox, namespace: coffee-shop}
spec:
  hosts: [sandbox.payments.example.com]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
  endpoints: [{address: 127.57.250.1}]
`,
      );
      await apply(file);
      const [reached] = await fromSleep("http://sandbox.payments.example.com/charge");
      expect(reached).toMatchObject({ status: 200, body: { sandbox: true } });
    } finally {
      sandbox.close();
    }
  });

  it("legacy-db.yaml gives the database's ServiceEntry its STATIC endpoints", async () => {
    await apply(`${TRAFFIC}/legacy-db.yaml`);
    const endpoints = await crema(["proxy-config", "endpoints", "sleep", "--port", "27018"]);
    expect(endpoints.code, endpoints.stderr).toBe(0);
    expect(endpoints.stdout).toContain("10.0.0.2:27018");
    expect(endpoints.stdout).toContain("10.0.0.3:27018");
  });

  it("sidecar-scoping.yaml removes unrelated clusters from web-frontend's proxy", async () => {
    const clusters = () => crema(["proxy-config", "clusters", "web-frontend"]);
    expect((await clusters()).stdout).toContain("customer-service.coffee-shop.svc.cluster.local");
    await apply(`${TRAFFIC}/sidecar-scoping.yaml`);
    const scoped = (await clusters()).stdout;
    expect(scoped).not.toContain("customer-service.coffee-shop.svc.cluster.local");
    expect(scoped).toContain("payment-service.coffee-shop.svc.cluster.local");
    const [call] = await fromPod("web-frontend", [{ url: "http://customer-service/" }]);
    expect(call!.status).toBe(502);
  });
});
