// `crema proxy` in front of the proxy core: flags and Istio-style environment → ProxyOptions and
// the node the control plane reads back; usage errors; the started/ready lines and shutdown,
// against a fake proxy (no test here needs a working one).
import { availableParallelism } from "node:os";
import { beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../src/base/logger.ts";
import { createSelfSignedCa } from "../src/ca/root-ca.ts";
import {
  type ProxyFlags,
  parseHostPort,
  proxyOptionsFromFlags,
  runProxy,
  workloadCertificatesFromFlags,
} from "../src/cli/commands/proxy.ts";
import type { CliIo } from "../src/cli/io.ts";
import { decodeProxyNode } from "../src/control-plane/model/proxy.ts";
import {
  DEFAULT_CA_ROOT_CERT_FILE,
  DEFAULT_TOKEN_FILE,
} from "../src/proxy/agent/workload-certificate-config.ts";
import { buildProxyNode } from "../src/proxy/bootstrap/node-identity.ts";
import type { ProxyOptions, RunningProxy } from "../src/proxy/proxy-options.ts";
import { runCli } from "./support/cli.ts";

interface TestIo extends CliIo {
  out: () => string;
  /** Resolves once stdout contains `text`. */
  printed: (text: string) => Promise<void>;
}

function testIo(env: Record<string, string> = {}): TestIo {
  let stdout = "";
  const waiting: Array<{ text: string; done: () => void }> = [];
  return {
    stdout: (text) => {
      stdout += text;
      for (const wait of waiting.filter((w) => stdout.includes(w.text))) {
        waiting.splice(waiting.indexOf(wait), 1);
        wait.done();
      }
    },
    stderr: () => {},
    readStdin: async () => "",
    cwd: process.cwd(),
    env,
    exit: () => {},
    out: () => stdout,
    printed: (text) =>
      stdout.includes(text)
        ? Promise.resolve()
        : new Promise<void>((done) => waiting.push({ text, done })),
  };
}

const POD = ["--pod-name", "web-0", "--namespace", "shop", "--ip", "127.0.0.5"];
const XDS = ["--xds-address", "127.0.0.1:15010"];
const pod = { podName: "web-0", namespace: "shop", ip: "127.0.0.5" };

function options(flags: ProxyFlags, env: Record<string, string> = {}): ProxyOptions {
  return proxyOptionsFromFlags(flags, testIo(env), silentLogger(), "0.1.0");
}

describe("crema proxy options", () => {
  it("fills Envoy's and pilot-agent's defaults", () => {
    const resolved = options({ xdsAddress: "127.0.0.1:15010", ...pod });
    expect(resolved).toMatchObject({
      xdsAddress: "127.0.0.1:15010",
      type: "sidecar",
      xdsProtocol: "sotw",
      adminAddress: { host: "127.0.0.1", port: 15000 },
      readinessAddress: { host: "127.0.0.5", port: 15021 },
      statusAddress: { host: "127.0.0.5", port: 15020 },
      appAddress: "127.0.0.1",
      sourceAddress: "127.0.0.5",
      concurrency: 2,
      drainTimeMs: 5000,
    });
    expect(resolved.node.id).toBe("sidecar~127.0.0.5~web-0.shop~shop.svc.cluster.local");
  });

  it("reads the pod from the environment, XDS_ADDRESS included", () => {
    const resolved = options(
      {},
      {
        XDS_ADDRESS: "[::1]:15010",
        POD_NAME: "api-7c9f4d6b8d-x2kqz",
        POD_NAMESPACE: "shop",
        INSTANCE_IP: "10.1.2.3",
        ISTIO_METAJSON_LABELS: '{"app":"api"}',
      },
    );
    expect(resolved.xdsAddress).toBe("[::1]:15010");
    expect(resolved.node).toMatchObject({
      id: "sidecar~10.1.2.3~api-7c9f4d6b8d-x2kqz.shop~shop.svc.cluster.local",
      cluster: "api.shop",
    });
    // A pod IP that is not a local-runtime loopback gets no source address.
    expect(resolved).not.toHaveProperty("sourceAddress");
  });

  it("reads --concurrency 0 as one thread per core, as Istio's ProxyConfig does", () => {
    const resolved = options({ xdsAddress: "127.0.0.1:15010", ...pod, concurrency: "0" });
    expect(resolved.concurrency).toBe(availableParallelism());
  });

  it("takes the local runtime's flags", () => {
    const resolved = options({
      xdsAddress: "127.0.0.1:15010",
      ...pod,
      type: "router",
      localRuntime: true,
      appAddress: "127.0.0.6",
      xdsProtocol: "delta",
      readinessAddress: "127.0.0.5:0",
      statusAddress: "127.0.0.5:0",
      sourceAddress: "127.0.0.7",
      concurrency: "4",
      drainTime: "1.5s",
    });
    expect(resolved).toMatchObject({
      type: "router",
      xdsProtocol: "delta",
      adminAddress: { host: "127.0.0.5", port: 15000 },
      readinessAddress: { host: "127.0.0.5", port: 0 },
      statusAddress: { host: "127.0.0.5", port: 0 },
      // App probes go where the sidecar forwards inbound traffic.
      appAddress: "127.0.0.6",
      sourceAddress: "127.0.0.7",
      concurrency: 4,
      drainTimeMs: 1500,
    });
    expect(resolved.node.metadata).toMatchObject({
      CREMA_LOCAL_RUNTIME: "true",
      CREMA_APP_ADDRESS: "127.0.0.6",
    });
  });

  it("reads the app probers from ISTIO_KUBE_APP_PROBERS", () => {
    const probers = {
      "/app-health/web/readyz": { httpGet: { path: "/ready", port: 8080 }, timeoutSeconds: 2 },
      "/app-health/web/livez": { tcpSocket: { port: 8080 } },
    };
    const resolved = options(
      { xdsAddress: "127.0.0.1:15010", ...pod },
      { ISTIO_KUBE_APP_PROBERS: JSON.stringify(probers) },
    );
    expect(Object.fromEntries(resolved.appProbers ?? [])).toEqual({
      "/app-health/web/readyz": {
        kind: "httpGet",
        path: "/ready",
        port: 8080,
        scheme: "HTTP",
        httpHeaders: [],
        timeoutMs: 2000,
      },
      "/app-health/web/livez": { kind: "tcpSocket", port: 8080, timeoutMs: 1000 },
    });
    expect(options({ xdsAddress: "127.0.0.1:15010", ...pod }).appProbers?.size).toBe(0);
  });

  it("refuses a bad ISTIO_KUBE_APP_PROBERS with every problem", () => {
    const env = {
      ISTIO_KUBE_APP_PROBERS: JSON.stringify({
        "/app-health/web/readyz": { httpGet: { port: "http" } },
        "/ready": { tcpSocket: { port: 8080 } },
      }),
    };
    expect(() => options({ xdsAddress: "127.0.0.1:15010", ...pod }, env)).toThrow(
      expect.objectContaining({
        code: "CREMA_PROXY_INVALID_FLAG",
        message: expect.stringMatching(
          /^ISTIO_KUBE_APP_PROBERS is invalid:\n {2}.*readyz"\]\.httpGet\.port: .*\n {2}.*"\/ready"\]: the path must be/s,
        ),
      }),
    );
  });

  it("gives 127.0.0.1 no source address", () => {
    expect(options({ xdsAddress: "127.0.0.1:1", ...pod, ip: "127.0.0.1" })).not.toHaveProperty(
      "sourceAddress",
    );
  });

  it("parses HOST:PORT", () => {
    expect(parseHostPort("[fd00::1]:80", "x")).toEqual({ host: "fd00::1", port: 80 });
    expect(parseHostPort("istiod.istio-system:15010", "x")).toEqual({
      host: "istiod.istio-system",
      port: 15010,
    });
    expect(() => parseHostPort("::1:80", "x")).toThrow(/HOST:PORT/);
    expect(() => parseHostPort("host:0", "x", false)).toThrow(/from 1 to 65535/);
  });
});

describe("crema proxy workload certificates", () => {
  const files: Record<string, string> = { token: "t0ken\n" };
  beforeAll(async () => {
    files["root.pem"] = (await createSelfSignedCa()).signingCertPem;
  });

  function certificates(flags: ProxyFlags, env: Record<string, string> = {}) {
    const io = testIo(env);
    const resolved = proxyOptionsFromFlags(flags, io, silentLogger(), "0.1.0");
    return workloadCertificatesFromFlags(flags, io, resolved, (path) => files[path]);
  }

  it("runs without certificates when no CA is given", () => {
    expect(certificates({ xdsAddress: "127.0.0.1:15010", ...pod })).toBeUndefined();
  });

  it("asks the CA for the pod's identity with the given root and token", () => {
    const config = certificates(
      {
        xdsAddress: "127.0.0.1:15010",
        ...pod,
        serviceAccount: "web",
        meta: ["TRUST_DOMAIN=shop.example"],
        caAddress: "127.0.0.1:15012",
        caRootCert: "root.pem",
        tokenFile: "token",
      },
      { SECRET_TTL: "2h", ECC_SIGNATURE_ALGORITHM: "RSA" },
    );
    expect(config).toMatchObject({
      caAddress: "127.0.0.1:15012",
      caRootCertFile: "root.pem",
      token: { file: "token" },
      identity: { trustDomain: "shop.example", namespace: "shop", serviceAccount: "web" },
      keyAlgorithm: "rsa-2048",
      ttlMs: 2 * 3600_000,
    });
  });

  it("reads CA_ADDR, CA_ROOT_CA and CREMA_BOOTSTRAP_TOKEN, as pilot-agent reads its variables", () => {
    const config = certificates(
      { xdsAddress: "127.0.0.1:15010", ...pod },
      { CA_ADDR: "[::1]:15012", CA_ROOT_CA: "root.pem", CREMA_BOOTSTRAP_TOKEN: "abc" },
    );
    expect(config).toMatchObject({
      caAddress: "[::1]:15012",
      token: { value: "abc" },
      identity: { trustDomain: "cluster.local", namespace: "shop", serviceAccount: "default" },
    });
  });

  it.each([
    [["--ca-address", "istiod"], "--ca-address must be HOST:PORT"],
    [
      ["--ca-address", "127.0.0.1:15012", "--ca-root-cert", "no-such-root.pem"],
      "the CA's root certificate no-such-root.pem cannot be read",
    ],
    [
      ["--ca-address", "127.0.0.1:15012", "--ca-root-cert", "package.json"],
      "the CA's root certificate package.json contains no PEM CERTIFICATE block",
    ],
  ])("crema proxy %j", async (args, message) => {
    const run = await runCli(["proxy", ...XDS, ...POD, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`crema: CREMA_PROXY_INVALID_FLAG: ${message}`);
  });

  it("names pilot-agent's default files in --help", async () => {
    const run = await runCli(["proxy", "--help"]);
    for (const text of [
      "--ca-address",
      "--ca-root-cert",
      "--token-file",
      DEFAULT_CA_ROOT_CERT_FILE,
      DEFAULT_TOKEN_FILE,
    ]) {
      expect(run.stdout).toContain(text);
    }
  });
});

describe("the node the control plane reads back", () => {
  it("decodes to the same pod, labels, locality and local-runtime settings", () => {
    const { node } = buildProxyNode({
      env: {
        POD_NAME: "reviews-v2-5b8f4d9c6-mpq7w",
        POD_NAMESPACE: "bookinfo",
        INSTANCE_IP: "127.0.0.12",
        SERVICE_ACCOUNT: "reviews",
        ISTIO_META_NETWORK: "net-a",
        ISTIO_META_CLUSTER_ID: "east",
      },
      flags: {
        labels: ["app=reviews", "version=v2", "istio-locality=us.us-1.rack2"],
        localRuntime: true,
        appAddress: "127.0.0.12",
      },
    });
    const decoded = decodeProxyNode(node);
    expect(decoded).toMatchObject({
      ok: true,
      proxy: {
        kind: "sidecar",
        ips: ["127.0.0.12"],
        podName: "reviews-v2-5b8f4d9c6-mpq7w",
        namespace: "bookinfo",
        labels: { app: "reviews", version: "v2", "istio-locality": "us.us-1.rack2" },
        serviceAccount: "reviews",
        clusterId: "east",
        network: "net-a",
        locality: { region: "us", zone: "us-1", subzone: "rack2" },
        metadata: { CREMA_LOCAL_RUNTIME: "true", CREMA_APP_ADDRESS: "127.0.0.12" },
      },
    });
  });
});

describe("crema proxy rejects bad flags", () => {
  it.each([
    [[...POD], "--xds-address (or XDS_ADDRESS) is required"],
    [[...XDS], "--pod-name (or POD_NAME) is required"],
    [[...XDS, "--pod-name", "web-0", "--ip", "127.0.0.5"], "--namespace (or POD_NAMESPACE)"],
    [[...XDS, ...POD, "--ip", "127.0.0"], "pod IP '127.0.0' is not an IP address"],
    [[...XDS, ...POD, "--type", "gateway"], "--type must be sidecar or router"],
    [[...XDS, ...POD, "--label", "app"], "--label: 'app' is not key=value"],
    [[...XDS, ...POD, "--xds-protocol", "incremental"], "--xds-protocol must be sotw or delta"],
    [["--xds-address", "istiod", ...POD], "--xds-address must be HOST:PORT"],
    [[...XDS, ...POD, "--admin-address", "15000"], "--admin-address must be HOST:PORT"],
    [[...XDS, ...POD, "--status-address", "15020"], "--status-address must be HOST:PORT"],
    [[...XDS, ...POD, "--concurrency", "-1"], "--concurrency must be a whole number"],
    [[...XDS, ...POD, "--concurrency", "two"], "--concurrency must be a whole number"],
    [[...XDS, ...POD, "--drain-time", "5"], "--drain-time must be a duration"],
    [[...XDS, ...POD, "--source-address", "pod"], "--source-address 'pod' is not an IP"],
    [[...XDS, ...POD, "--log-level", "loud"], "--log-level must be one of"],
  ])("crema proxy %j", async (args, message) => {
    const run = await runCli(["proxy", ...args]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("crema: CREMA_PROXY_INVALID_FLAG: ");
    expect(run.stderr).toContain(message);
  });

  it("lists its flags in --help", async () => {
    const run = await runCli(["proxy", "--help"]);
    expect(run.code).toBe(0);
    for (const flag of [
      "--xds-address",
      "--pod-name",
      "--label",
      "--meta",
      "--drain-time",
      "--status-address",
    ]) {
      expect(run.stdout).toContain(flag);
    }
  });
});

describe("runProxy", () => {
  function fakeProxy(): {
    start: (options: ProxyOptions) => Promise<RunningProxy>;
    becomeReady: () => void;
    closed: () => boolean;
  } {
    let becomeReady = () => {};
    let closed = false;
    const ready = new Promise<void>((resolve) => {
      becomeReady = resolve;
    });
    return {
      start: async () => ({
        adminUrl: "http://127.0.0.5:15000",
        readinessUrl: "http://127.0.0.5:15021",
        ready,
        close: async () => {
          closed = true;
        },
      }),
      becomeReady: () => becomeReady(),
      closed: () => closed,
    };
  }
  const resolved = () => options({ xdsAddress: "127.0.0.1:15010", ...pod });

  it("prints the started and ready lines, and closes the proxy on shutdown", async () => {
    const io = testIo();
    const proxy = fakeProxy();
    const shutdown = new AbortController();
    const running = runProxy(resolved(), io, {
      shutdown: shutdown.signal,
      cut: new AbortController().signal,
      exitNow: () => {
        throw new Error("not cut");
      },
      start: proxy.start,
    });
    await io.printed("proxy started");
    expect(io.out()).toBe(
      "proxy started admin=http://127.0.0.5:15000 readiness=http://127.0.0.5:15021 node=sidecar~127.0.0.5~web-0.shop~shop.svc.cluster.local\n",
    );
    proxy.becomeReady();
    await io.printed("proxy ready\n");
    expect(proxy.closed()).toBe(false);
    shutdown.abort();
    await running;
    expect(proxy.closed()).toBe(true);
  });

  it("is ready only once the workload certificate is in hand, and stops renewing on close", async () => {
    const io = testIo();
    const proxy = fakeProxy();
    let issue = () => {};
    let closed = false;
    const certificates = {
      ready: () =>
        new Promise<void>((done) => {
          issue = done;
        }),
      close: () => {
        closed = true;
      },
    };
    const shutdown = new AbortController();
    const running = runProxy(resolved(), io, {
      shutdown: shutdown.signal,
      cut: new AbortController().signal,
      exitNow: () => {},
      start: proxy.start,
      certificates,
    });
    await io.printed("proxy started");
    proxy.becomeReady();
    await new Promise((done) => setImmediate(done));
    expect(io.out()).not.toContain("proxy ready");
    issue();
    await io.printed("proxy ready\n");
    shutdown.abort();
    await running;
    expect(proxy.closed() && closed).toBe(true);
  });

  it("exits at once on a second signal", async () => {
    const proxy = fakeProxy();
    const shutdown = new AbortController();
    const cut = new AbortController();
    let exited = false;
    const running = runProxy(resolved(), testIo(), {
      shutdown: shutdown.signal,
      cut: cut.signal,
      exitNow: () => {
        exited = true;
      },
      start: proxy.start,
    });
    shutdown.abort();
    cut.abort();
    expect(exited).toBe(true);
    await running;
  });

  it("passes on startProxy's rejection", async () => {
    await expect(
      runProxy(resolved(), testIo(), {
        shutdown: new AbortController().signal,
        cut: new AbortController().signal,
        exitNow: () => {},
        start: async () => {
          throw new Error("admin port in use");
        },
      }),
    ).rejects.toThrow("admin port in use");
  });
});
