// Istio mTLS on the local runtime, tested the way an attacker would: every sidecar gets a
// workload certificate from the control plane's CA; with PERMISSIVE (the default) an injected
// client speaks mTLS and a pod without a sidecar plaintext, and both get in; STRICT resets the
// plaintext client; the backend sees the caller's SPIFFE identity; AuthorizationPolicy matches
// it. Pods live in 127.59.0.0/16.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCrema } from "./support/crema-cli.ts";
import { until } from "./support/until.ts";

let dir: string;
let stateDir: string;

const crema = (args: string[]) => runCrema(args, stateDir);

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata: {name: secure, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: echo, namespace: secure}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sleep, namespace: secure}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: secure}
spec:
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      serviceAccountName: echo
      containers: [{name: echo, command: ["crema", "echo"], ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: secure}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep, namespace: secure}
spec:
  selector: {matchLabels: {app: sleep}}
  template:
    metadata: {labels: {app: sleep}}
    spec:
      serviceAccountName: sleep
      containers: [{name: sleep, command: ["sleep", "infinity"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: legacy}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      containers: [{name: client, command: ["sleep", "infinity"]}]
`;

interface CurlReply {
  code: number;
  status: string;
  body: string;
}

/** `curl` from inside a pod: the status code, or curl's exit code when the connection failed. */
async function curl(pod: string, url: string): Promise<CurlReply> {
  const run = await crema(["exec", pod, "--", "curl", "-s", "-w", "\n%{http_code}", url]);
  const lines = run.stdout.split("\n");
  return { code: run.code, status: lines.at(-1) ?? "", body: lines.slice(0, -1).join("\n") };
}

async function applyYaml(name: string, yaml: string): Promise<void> {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  const run = await crema(["apply", "-f", file]);
  expect(run.code, run.stderr).toBe(0);
}

/** Curls from `pod` until the reply satisfies `holds` (config reaches the proxies
 * asynchronously); on timeout the error shows the last reply. */
async function untilCurl(
  what: string,
  pod: string,
  url: string,
  holds: (reply: CurlReply) => boolean,
  timeoutMs?: number,
): Promise<void> {
  let last: CurlReply | undefined;
  await until(
    what,
    async () => {
      last = await curl(pod, url);
      return holds(last);
    },
    { timeoutMs, detail: () => `last reply from ${pod} to ${url}: ${JSON.stringify(last)}` },
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "crema-mtls-"));
  stateDir = join(dir, "state");
  writeFileSync(join(dir, "app.yaml"), MANIFESTS);
  const up = await crema([
    "up",
    join(dir, "app.yaml"),
    "--detach",
    "--ingress-port",
    "0",
    "--ingress-tls-port",
    "0",
    "--pod-cidr",
    "127.59.0.0/16",
  ]);
  expect(up.code, `${up.stdout}${up.stderr}`).toBe(0);
}, 120_000);

afterAll(async () => {
  await crema(["down"]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("Istio mTLS between sidecars", () => {
  it("sidecars fetch their config over TLS with their workload certificates (Istio's 15012)", async () => {
    const { readRuntimeState } = await import("../../src/runtime/runtime-state.ts");
    const { controlPlaneUrl } = readRuntimeState(stateDir);
    const connections = (await (await fetch(`${controlPlaneUrl}/debug/syncz`)).json()) as {
      nodeId: string;
      peerIdentity?: string;
    }[];
    const sleep = connections.find((c) => c.nodeId.includes("~sleep-"));
    expect(sleep?.peerIdentity).toBe("spiffe://cluster.local/ns/secure/sa/sleep");
    expect(connections.every((c) => c.peerIdentity?.startsWith("spiffe://cluster.local/ns/"))).toBe(
      true,
    );
  });

  it("PERMISSIVE: an injected client gets in over mTLS (the backend sees its SPIFFE identity), a plaintext one too", async () => {
    const fromSleep = await curl("sleep", "http://echo.secure/");
    expect(fromSleep.status).toBe("200");
    const headers = JSON.parse(fromSleep.body).headers as Record<string, string>;
    expect(headers["x-forwarded-client-cert"]).toContain(
      "URI=spiffe://cluster.local/ns/secure/sa/sleep",
    );
    const fromLegacy = await curl("client.legacy", "http://echo.secure/");
    expect(fromLegacy.status).toBe("200");
    expect(JSON.parse(fromLegacy.body).headers["x-forwarded-client-cert"]).toBeUndefined();
  });

  it("STRICT: the plaintext client's connection is reset; the injected one still gets in", async () => {
    await applyYaml(
      "strict.yaml",
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: secure}
spec: {mtls: {mode: STRICT}}
`,
    );
    await untilCurl(
      "STRICT resets the plaintext client",
      "client.legacy",
      "http://echo.secure/",
      (reply) => reply.code !== 0,
    );
    const refused = await curl("client.legacy", "http://echo.secure/");
    // curl 56: "Recv failure: Connection reset by peer" (52: empty reply).
    expect([52, 56]).toContain(refused.code);
    expect((await curl("sleep", "http://echo.secure/")).status).toBe("200");
  });

  it("a port-level DISABLE under STRICT admits plaintext there; a DestinationRule DISABLE sends plaintext", async () => {
    await applyYaml(
      "port-level.yaml",
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: echo-port, namespace: secure}
spec:
  selector: {matchLabels: {app: echo}}
  mtls: {mode: STRICT}
  portLevelMtls: {8080: {mode: DISABLE}}
`,
    );
    // Three waits in this test: each bounded well inside the test's 30 s.
    await untilCurl(
      "the port-level DISABLE admits the plaintext client",
      "client.legacy",
      "http://echo.secure/",
      (reply) => reply.status === "200",
      8_000,
    );
    await applyYaml(
      "dr-disable.yaml",
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo-plain, namespace: secure}
spec:
  host: echo.secure.svc.cluster.local
  trafficPolicy: {tls: {mode: DISABLE}}
`,
    );
    // Plaintext from the injected client: the backend no longer sees a client certificate.
    await untilCurl(
      "the injected client sends plaintext (no client certificate at the backend)",
      "sleep",
      "http://echo.secure/",
      (reply) =>
        reply.status === "200" && !JSON.parse(reply.body).headers["x-forwarded-client-cert"],
      8_000,
    );
    for (const file of ["dr-disable.yaml", "port-level.yaml"]) {
      const run = await crema(["delete", "-f", join(dir, file)]);
      expect(run.code, run.stderr).toBe(0);
    }
    // Back to STRICT everywhere for what follows.
    await untilCurl(
      "STRICT resets the plaintext client again",
      "client.legacy",
      "http://echo.secure/",
      (reply) => reply.code !== 0,
      8_000,
    );
  });

  it("AuthorizationPolicy matches the caller's mTLS identity", async () => {
    await applyYaml(
      "authz.yaml",
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-sleep-reads, namespace: secure}
spec:
  selector: {matchLabels: {app: echo}}
  action: ALLOW
  rules:
    - from: [{source: {principals: ["cluster.local/ns/secure/sa/sleep"]}}]
      to: [{operation: {methods: ["GET"]}}]
`,
    );
    // Without the policy the POST succeeds too: waiting for its denial waits for the policy.
    let post = "";
    await until(
      "the policy denies the sleep identity's POST",
      async () => {
        post = (
          await crema(["exec", "sleep", "--", "curl", "-s", "-X", "POST", "http://echo.secure/"])
        ).stdout;
        return post === "RBAC: access denied";
      },
      { detail: () => `last reply: ${post}` },
    );
    expect((await curl("sleep", "http://echo.secure/")).status).toBe("200");
  });

  it("a DENY of requests without a principal answers 403 without a token and passes a valid one", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" };
    await applyYaml(
      "jwt.yaml",
      `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: echo-jwt, namespace: secure}
spec:
  selector: {matchLabels: {app: echo}}
  jwtRules: [{issuer: "https://issuer.example.com", jwks: '${JSON.stringify({ keys: [jwk] })}'}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: private-needs-jwt, namespace: secure}
spec:
  selector: {matchLabels: {app: echo}}
  action: DENY
  rules:
    - from: [{source: {notRequestPrincipals: ["*"]}}]
      to: [{operation: {paths: ["/private*"]}}]
`,
    );
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer("https://issuer.example.com")
      .setSubject("carol")
      .setExpirationTime("10m")
      .sign(privateKey);
    await untilCurl(
      "the DENY answers 403 to a request without a token",
      "sleep",
      "http://echo.secure/private/x",
      (reply) => reply.status === "403",
    );
    expect((await curl("sleep", "http://echo.secure/private/x")).body).toBe("RBAC: access denied");
    const signed = await crema([
      "exec",
      "sleep",
      "--",
      "curl",
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      `authorization: Bearer ${token}`,
      "http://echo.secure/private/x",
    ]);
    expect(signed.stdout).toBe("200");
    // The policy covers /private only.
    expect((await curl("sleep", "http://echo.secure/public")).status).toBe("200");
  });
});
