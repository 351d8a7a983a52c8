// AuthorizationPolicy end to end, as a table: each policy set is applied to the local runtime
// (`crema up`, workload certificates on), then every case sends a real request from a pod with
// its own service account and namespace — or raw HTTP from this process straight to the server's
// inbound port — and checks the status Envoy would give (200, 403 `RBAC: access denied`, 401 for a
// bad token). Then path-normalisation bypass attempts against a DENY on /admin under each
// meshConfig.pathNormalization mode: BASE on the local runtime (the default), MERGE_SLASHES and
// DECODE_AND_MERGE_SLASHES on a control plane given `--mesh-config` (subnet 71). Pods of the local
// runtime live in 127.65.0.0/16.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  issueBootstrapToken,
  loadOrCreateBootstrapTokenKey,
} from "../../src/ca/bootstrap-token.ts";
import { runCrema } from "./support/crema-cli.ts";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 71;
const ISSUER = "https://issuer.example.com";
const MARKER_ISSUER = "https://marker.example.com";

let dir: string;
let stateDir: string;
const crema = (args: string[]) => runCrema(args, stateDir);

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata: {name: authz, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: friends, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: echo, namespace: authz}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sleep, namespace: authz}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: friend, namespace: friends}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: authz}
spec:
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      serviceAccountName: echo
      containers:
        - {name: echo, command: ["crema", "echo"], ports: [{containerPort: 8080}]}
        - {name: admin, command: ["crema", "echo", "--port", "9090"], ports: [{containerPort: 9090}]}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: authz}
spec:
  selector: {app: echo}
  ports:
    - {name: http, port: 80, targetPort: 8080}
    - {name: http-admin, port: 9090, targetPort: 9090}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep, namespace: authz}
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
metadata: {name: friend, namespace: friends}
spec:
  selector: {matchLabels: {app: friend}}
  template:
    metadata: {labels: {app: friend}}
    spec:
      serviceAccountName: friend
      containers: [{name: friend, command: ["sleep", "infinity"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: outsider, namespace: legacy}
spec:
  selector: {matchLabels: {app: outsider}}
  template:
    metadata: {labels: {app: outsider}}
    spec:
      containers: [{name: outsider, command: ["sleep", "infinity"]}]
---
# Envoy keeps serving a connection opened under an older listener config with that config until
# it drains, so a pooled sidecar-to-sidecar connection could carry one request past a policy
# change; one request per connection makes every case meet the policies in force.
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: authz}
spec:
  host: echo.authz.svc.cluster.local
  trafficPolicy: {connectionPool: {http: {maxRequestsPerConnection: 1}}}
`;

/**
 * Who sends: `sleep` (authz/sleep) and `friend` (friends/friend) through their sidecars over mTLS,
 * `outsider` (no sidecar: plaintext, no identity), `direct` raw HTTP from this process to the
 * server's inbound port (plaintext, PERMISSIVE), `sleep-raw` raw HTTP to sleep's sidecar (15001).
 */
type Client = "sleep" | "friend" | "outsider" | "direct" | "sleep-raw";
type TokenName = "alice" | "bob" | "expired" | "forged";

interface Case {
  name: string;
  from: Client;
  method?: string;
  /** Sent as written (raw clients put it on the request line untouched). */
  path?: string;
  /** Service port for pods (80 → 8080, 9090 → 9090); the inbound port for raw requests. */
  port?: 80 | 9090;
  headers?: Record<string, string>;
  token?: TokenName;
  expect: number;
  /** The path the backend saw, for requests that reach it. */
  backendPath?: string;
}

interface PolicySet {
  name: string;
  yaml: string;
  cases: Case[];
}

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

interface Reply {
  status: number;
  body: unknown;
}

const policy = (name: string, spec: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: authz}
spec:
  selector: {matchLabels: {app: echo}}
${spec}`;

/** Istio's allow-nothing: an ALLOW policy that matches nothing, for the whole namespace. */
const ALLOW_NOTHING = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: authz}
spec: {}
`;

let jwks: string;
const tokens = {} as Record<TokenName, string>;
let markerJwks: string;
let markerKey: SigningKey;
const ips = { echo: "", sleep: "" };

function c(
  name: string,
  from: Client,
  path: string,
  expect: number,
  extra: Partial<Case> = {},
): Case {
  return { name, from, path, expect, ...extra };
}

/** The policy sets, built once the pods' addresses and the keys are known. */
function policySets(): PolicySet[] {
  const requestAuthn = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: echo-jwt, namespace: authz}
spec:
  selector: {matchLabels: {app: echo}}
  jwtRules: [{issuer: "${ISSUER}", jwks: '${jwks}'}]
`;
  /** Port 9090 with the header its ALLOW rule asks for. */
  const admin: Partial<Case> = { port: 9090, headers: { "x-admin-key": "let-me-in" } };
  return [
    {
      name: "AUDIT alone changes nothing",
      yaml: policy("audit-all", "  action: AUDIT\n  rules: [{}]\n"),
      cases: [
        c("audited mTLS client allowed", "sleep", "/", 200),
        c("audited plaintext client allowed", "outsider", "/", 200),
      ],
    },
    {
      name: "allow-nothing",
      yaml: ALLOW_NOTHING,
      cases: [
        c("spec {} denies sleep", "sleep", "/", 403),
        c("spec {} denies plaintext", "direct", "/", 403),
      ],
    },
    {
      name: "deny-all then allow (principals, methods, paths)",
      yaml: `${ALLOW_NOTHING}---
${policy(
  "sleep-reads-api",
  `  action: ALLOW
  rules:
    - from: [{source: {principals: ["cluster.local/ns/authz/sa/sleep"]}}]
      to: [{operation: {methods: ["GET"], paths: ["/api/*"]}}]
`,
)}`,
      cases: [
        c("principal+GET+path allowed", "sleep", "/api/items", 200),
        c("wrong method", "sleep", "/api/items", 403, { method: "POST" }),
        c("wrong path", "sleep", "/other", 403),
        c("wrong principal", "friend", "/api/items", 403),
        c("no identity", "outsider", "/api/items", 403),
      ],
    },
    {
      name: "DENY wins over ALLOW, AUDIT does not allow",
      yaml: `${policy("allow-all", "  action: ALLOW\n  rules: [{}]\n")}---
${policy(
  "deny-admin",
  `  action: DENY
  rules: [{to: [{operation: {paths: ["/admin", "/admin/*"]}}]}]
`,
)}---
${policy(
  "audit-admin",
  `  action: AUDIT
  rules: [{to: [{operation: {paths: ["/admin", "/audited"]}}]}]
`,
)}`,
      cases: [
        c("rules [{}] allows plaintext", "outsider", "/public", 200),
        c("DENY beats ALLOW-all", "sleep", "/admin", 403),
        c("DENY prefix /admin/*", "sleep", "/admin/users", 403),
        c("/admin/* is not /administrator", "sleep", "/administrator", 200),
        c("AUDIT match still allowed", "friend", "/audited", 200),
      ],
    },
    {
      name: "AUDIT does not grant what ALLOW refuses",
      yaml: `${policy(
        "audit-friends",
        `  action: AUDIT
  rules: [{from: [{source: {namespaces: ["friends"]}}]}]
`,
      )}---
${policy(
  "only-sleep",
  `  action: ALLOW
  rules: [{from: [{source: {principals: ["cluster.local/ns/authz/sa/sleep"]}}]}]
`,
)}`,
      cases: [
        c("ALLOW principal", "sleep", "/", 200),
        c("audited but not allowed", "friend", "/", 403),
      ],
    },
    {
      name: "namespaces, serviceAccounts, principal wildcards",
      yaml: policy(
        "identities",
        `  action: ALLOW
  rules:
    - from: [{source: {namespaces: ["friends"]}}]
      to: [{operation: {paths: ["/ns/*"]}}]
    - from: [{source: {principals: ["cluster.local/ns/authz/*"]}}]
      to: [{operation: {paths: ["/p/*"]}}]
    - from: [{source: {serviceAccounts: ["friends/friend"]}}]
      to: [{operation: {paths: ["/sa/*"]}}]
`,
      ),
      cases: [
        c("namespaces match", "friend", "/ns/x", 200),
        c("namespaces mismatch", "sleep", "/ns/x", 403),
        c("principal prefix match", "sleep", "/p/x", 200),
        c("principal prefix mismatch", "friend", "/p/x", 403),
        c("principal needs an identity", "outsider", "/p/x", 403),
        c("serviceAccounts match", "friend", "/sa/x", 200),
        c("serviceAccounts mismatch", "sleep", "/sa/x", 403),
      ],
    },
    {
      name: "DENY with notPrincipals, notNamespaces, source.namespace",
      yaml: policy(
        "deny-negatives",
        `  action: DENY
  rules:
    - from: [{source: {notPrincipals: ["cluster.local/ns/authz/sa/sleep"]}}]
      to: [{operation: {paths: ["/secret*"]}}]
    - from: [{source: {notNamespaces: ["friends"]}}]
      to: [{operation: {paths: ["/friends-only*"]}}]
    - to: [{operation: {paths: ["/no-friends*"]}}]
      when: [{key: source.namespace, values: ["friends"]}]
`,
      ),
      cases: [
        c("notPrincipals spares sleep", "sleep", "/secret", 200),
        c("notPrincipals denies friend", "friend", "/secret", 403),
        c("notPrincipals denies no identity", "outsider", "/secret", 403),
        c("no ALLOW policy: other paths pass", "outsider", "/open", 200),
        c("notNamespaces spares friends", "friend", "/friends-only", 200),
        c("notNamespaces denies authz", "sleep", "/friends-only", 403),
        c("when source.namespace denies", "friend", "/no-friends", 403),
        c("when source.namespace spares", "sleep", "/no-friends", 200),
      ],
    },
    {
      name: "ipBlocks, notIpBlocks, remoteIpBlocks",
      yaml: policy(
        "addresses",
        `  action: ALLOW
  rules:
    - from: [{source: {ipBlocks: ["${ips.sleep}/32"]}}]
      to: [{operation: {paths: ["/ip"]}}]
    - from: [{source: {notIpBlocks: ["${ips.sleep}"]}}]
      to: [{operation: {paths: ["/not-ip"]}}]
    - from: [{source: {remoteIpBlocks: ["203.0.113.0/24"]}}]
      to: [{operation: {paths: ["/remote"]}}]
`,
      ),
      cases: [
        c("ipBlocks match", "sleep", "/ip", 200),
        c("ipBlocks mismatch", "friend", "/ip", 403),
        c("notIpBlocks excludes", "sleep", "/not-ip", 403),
        c("notIpBlocks admits", "friend", "/not-ip", 200),
        c("remoteIpBlocks from X-Forwarded-For", "friend", "/remote", 200, {
          headers: { "x-forwarded-for": "203.0.113.7" },
        }),
        c("remoteIpBlocks mismatch", "friend", "/remote", 403),
      ],
    },
    {
      name: "requestPrincipals and request.auth.claims (RequestAuthentication)",
      yaml: `${requestAuthn}---
${policy(
  "jwt",
  `  action: ALLOW
  rules:
    - from: [{source: {requestPrincipals: ["${ISSUER}/alice"]}}]
      to: [{operation: {paths: ["/jwt/user"]}}]
    - to: [{operation: {paths: ["/jwt/admin"]}}]
      when: [{key: "request.auth.claims[groups]", values: ["admin"]}]
    - from: [{source: {requestPrincipals: ["*"]}}]
      to: [{operation: {paths: ["/jwt/any"]}}]
    - from: [{source: {notRequestPrincipals: ["*"]}}]
      to: [{operation: {paths: ["/jwt/anonymous"]}}]
`,
)}`,
      cases: [
        c("requestPrincipals match", "sleep", "/jwt/user", 200, { token: "alice" }),
        c("requestPrincipals mismatch", "sleep", "/jwt/user", 403, { token: "bob" }),
        c("requestPrincipals without a token", "sleep", "/jwt/user", 403),
        c("claim in a list", "friend", "/jwt/admin", 200, { token: "alice" }),
        c("claim mismatch", "friend", "/jwt/admin", 403, { token: "bob" }),
        c("requestPrincipals *", "outsider", "/jwt/any", 200, { token: "bob" }),
        c("requestPrincipals * without token", "outsider", "/jwt/any", 403),
        c("notRequestPrincipals * anonymous", "sleep", "/jwt/anonymous", 200),
        c("notRequestPrincipals * with token", "sleep", "/jwt/anonymous", 403, { token: "bob" }),
        c("expired token", "sleep", "/jwt/user", 401, { token: "expired" }),
        c("forged signature", "sleep", "/jwt/user", 401, { token: "forged" }),
      ],
    },
    {
      name: "hosts, ports, methods, notMethods, notPaths, headers, destination.port, connection.sni",
      yaml: `${policy(
        "operations",
        `  action: ALLOW
  rules:
    - to: [{operation: {hosts: ["echo.authz", "echo.authz:*"], methods: ["GET", "HEAD"], ports: ["8080"]}}]
    - to: [{operation: {ports: ["9090"], notPaths: ["/private*"]}}]
      when: [{key: "request.headers[x-admin-key]", values: ["let-me-in"]}]
`,
      )}---
${policy(
  "operation-denials",
  `  action: DENY
  rules:
    - to: [{operation: {notMethods: ["GET", "HEAD", "POST"]}}]
    - to: [{operation: {paths: ["/internal"]}}]
      when: [{key: destination.port, values: ["9090"]}]
    - to: [{operation: {paths: ["/sni"]}}]
      when: [{key: connection.sni, values: ["outbound_.9090_._.echo.authz.svc.cluster.local"]}]
    - to: [{operation: {notHosts: ["echo.authz", "echo.authz:*"]}}]
`,
)}`,
      cases: [
        c("hosts+methods+ports match", "sleep", "/", 200),
        c("method not in the list", "sleep", "/", 403, { method: "POST" }),
        c("port 9090 without the header", "sleep", "/x", 403, { port: 9090 }),
        c("request.headers match", "sleep", "/x", 200, admin),
        c("request.headers mismatch", "sleep", "/x", 403, {
          ...admin,
          headers: { "x-admin-key": "guess" },
        }),
        c("notPaths excludes", "sleep", "/private/x", 403, admin),
        c("DENY notMethods", "sleep", "/x", 403, { ...admin, method: "DELETE" }),
        c("DENY when destination.port", "sleep", "/internal", 403, admin),
        c("destination.port elsewhere", "sleep", "/internal", 200),
        c("DENY when connection.sni (mTLS)", "sleep", "/sni", 403, admin),
        c("connection.sni absent in plaintext", "direct", "/sni", 200, admin),
        c("hosts are case-insensitive", "direct", "/", 200, { headers: { host: "Echo.Authz" } }),
        c("DENY notHosts", "direct", "/", 403, { headers: { host: "evil.example.com" } }),
      ],
    },
  ];
}

/** BASE (the default): the DENY users write for /admin, attacked through the path's spelling. */
const DENY_ADMIN = (namespace: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: ${namespace}}
spec:
  selector: {matchLabels: {app: echo}}
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin", "/admin/*"]}}]}]
`;

type Mode = "BASE" | "MERGE_SLASHES" | "DECODE_AND_MERGE_SLASHES";

interface BypassCase {
  path: string;
  /** Status per mode, and the path the backend saw when it was reached. */
  expect: Record<Mode, number | [number, string]>;
}

const MODES: readonly Mode[] = ["BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"];
const ALL = MODES;
const MERGING: readonly Mode[] = ["MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"];
const DECODING: readonly Mode[] = ["DECODE_AND_MERGE_SLASHES"];

/** 403 under `denying`; under the other modes the backend gets `seen` (the path as sent). */
function bypass(path: string, denying: readonly Mode[], seen = path): BypassCase {
  const expect = {} as BypassCase["expect"];
  for (const mode of MODES) expect[mode] = denying.includes(mode) ? 403 : [200, seen];
  return { path, expect };
}

/** 400 in every mode. */
function rejected(path: string): BypassCase {
  return { path, expect: { BASE: 400, MERGE_SLASHES: 400, DECODE_AND_MERGE_SLASHES: 400 } };
}

// What each mode does is Istio's table (docs/ops/best-practices/security, "Customize your system
// on path normalization"): BASE is Envoy's normalize_path (RFC 3986 dot segments, unreserved
// %XX decoded, "\" → "/"), MERGE_SLASHES adds merge_slashes, DECODE_AND_MERGE_SLASHES first
// decodes %2F/%5C (path_with_escaped_slashes_action UNESCAPE_AND_FORWARD). Istio never asks for
// REJECT_REQUEST, so an escaped slash is forwarded as written, never answered 400; a NUL (%00)
// and a #fragment are refused with 400 in every mode (Envoy's path_normalization_failed and
// http_reject_path_with_fragment).
const BYPASS_CASES: BypassCase[] = [
  bypass("/admin", ALL),
  bypass("/admin/users", ALL),
  bypass("/public/../admin", ALL),
  bypass("/admin/./", ALL),
  bypass("/./admin", ALL),
  bypass("/public/%2e%2e/admin", ALL),
  bypass("/public/%2E%2E/admin/users", ALL),
  bypass("/%2e%2e/%2e%2e/admin", ALL),
  bypass("/public/.%2e/admin", ALL),
  bypass("/%61dmin", ALL),
  bypass("/public/..;x=y/admin", ALL),
  bypass("//admin", MERGING),
  bypass("///admin//users", MERGING),
  // Envoy resolves dot segments before merging slashes: ".." eats the empty segment.
  {
    path: "/public//..//admin//users",
    expect: {
      BASE: [200, "/public//admin//users"],
      MERGE_SLASHES: [200, "/public/admin/users"],
      DECODE_AND_MERGE_SLASHES: [200, "/public/admin/users"],
    },
  },
  bypass("/%2Fadmin", DECODING),
  bypass("/%2fadmin/users", DECODING),
  bypass("/%5Cadmin", DECODING),
  bypass("/%5c%5cadmin", DECODING),
  bypass("/public%2F..%2Fadmin", DECODING),
  rejected("/admin#x"),
  rejected("/public#/../admin"),
  rejected("/admin%00"),
  bypass("/public/x", []),
  // Paths match case-sensitively (Istio's normalization reference has no case folding): the
  // reason the best practices recommend DENY-with-negative-matching, tested below.
  bypass("/ADMIN", []),
];

/**
 * Istio's recommended DENY-with-negative-matching pattern (best practices, "Use
 * ALLOW-with-positive-matching and DENY-with-negative-match patterns"): deny everything that is
 * not public, so /admin stays closed whatever its spelling, and a mismatch fails closed (403).
 */
const DENY_NOT_PUBLIC = policy(
  "deny-not-public",
  `  action: DENY
  rules: [{to: [{operation: {notPaths: ["/public", "/public/*"]}}]}]
`,
);

/** The bypass table as raw requests from this process to the server's inbound port. */
function bypassCases(mode: Mode): Case[] {
  return BYPASS_CASES.map((b) => {
    const expected = b.expect[mode];
    return Array.isArray(expected)
      ? c(b.path, "direct", b.path, expected[0], { backendPath: expected[1] })
      : c(b.path, "direct", b.path, expected);
  });
}

const RECOMMENDED_CASES: Array<{ path: string; expect: number }> = [
  { path: "/public/x", expect: 200 },
  { path: "/admin", expect: 403 },
  { path: "/ADMIN", expect: 403 },
  { path: "/Admin/users", expect: 403 },
  { path: "/%41DMIN", expect: 403 },
  { path: "/public/../ADMIN", expect: 403 },
  { path: "/public/%2e%2e/Admin", expect: 403 },
  { path: "/PUBLIC/x", expect: 403 },
  { path: "/public/x#/../../admin", expect: 400 },
  { path: "/admin#public", expect: 400 },
  { path: "/public/x?/../admin", expect: 200 },
];

// ---- Sending ----

/** One raw HTTP/1.1 request on a fresh connection: nothing rewrites the request line. */
function rawHttp(host: string, port: number, head: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer from ${host}:${port}`)));
    socket.once("connect", () => socket.write(head));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("error", reject);
    socket.once("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const headers = text.slice(0, end).toLowerCase();
      let body = end < 0 ? "" : text.slice(end + 4);
      if (headers.includes("transfer-encoding: chunked")) body = dechunk(body);
      resolve({ status, body: parseBody(body) });
    });
  });
}

function dechunk(body: string): string {
  let out = "";
  for (let at = 0; ; ) {
    const eol = body.indexOf("\r\n", at);
    const size = Number.parseInt(body.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function requestHead(method: string, target: string, headers: Record<string, string>): string {
  const lines = Object.entries({ host: "echo.authz", ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${target} HTTP/1.1\r\n${lines.join("\r\n")}\r\nconnection: close\r\n\r\n`;
}

function caseHeaders(c: Case): Record<string, string> {
  return {
    ...(c.headers ?? {}),
    ...(c.token ? { authorization: `Bearer ${tokens[c.token]}` } : {}),
  };
}

/**
 * Sends every case of one client: one `crema exec` for a pod, raw sockets for the others (`direct`
 * ones to `server`'s inbound ports).
 */
async function sendFrom(client: Client, cases: readonly Case[], server: string): Promise<Reply[]> {
  if (client === "direct" || client === "sleep-raw") {
    return Promise.all(
      cases.map((c) => {
        const path = c.path ?? "/";
        const inboundPort = c.port ?? 8080;
        if (client === "direct")
          return rawHttp(server, inboundPort, requestHead(c.method ?? "GET", path, caseHeaders(c)));
        const authority = `echo.authz${c.port === 9090 ? ":9090" : ""}`;
        return rawHttp(
          ips.sleep,
          15001,
          requestHead(c.method ?? "GET", `http://${authority}${path}`, {
            host: authority,
            ...caseHeaders(c),
          }),
        );
      }),
    );
  }
  const pod = { sleep: "sleep", friend: "friend.friends", outsider: "outsider.legacy" }[client];
  const spec = {
    requests: cases.map((c) => ({
      url: `http://echo.authz${c.port === 9090 ? ":9090" : ""}${c.path ?? "/"}`,
      method: c.method ?? "GET",
      headers: caseHeaders(c),
    })),
  };
  const run = await crema([
    "exec",
    pod,
    "--",
    "node",
    "test/scenarios/support/requests.ts",
    JSON.stringify(spec),
  ]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Reply);
}

/** Runs a table: every client's cases in parallel; returns one line per mismatch. */
async function runCases(cases: readonly Case[], server = ips.echo): Promise<string[]> {
  const clients = [...new Set(cases.map((c) => c.from))];
  const replies = await Promise.all(
    clients.map(async (client) => {
      const mine = cases.filter((c) => c.from === client);
      const answers = await sendFrom(client, mine, server);
      return mine.map((c, i) => [c, answers[i]!] as const);
    }),
  );
  const problems: string[] = [];
  for (const [c, reply] of replies.flat()) {
    const request = `${c.method ?? "GET"} ${c.path ?? "/"}${c.port === 9090 ? " :9090" : ""} from ${c.from}${c.token ? ` with ${c.token}'s token` : ""}`;
    if (reply.status !== c.expect) {
      problems.push(
        `${c.name}: ${request} answered ${reply.status}, expected ${c.expect}: ${JSON.stringify(reply.body).slice(0, 200)}`,
      );
    } else if (c.expect === 403 && reply.body !== "RBAC: access denied") {
      problems.push(`${c.name}: ${request} 403 body ${JSON.stringify(reply.body)}`);
    } else if (
      c.backendPath !== undefined &&
      (reply.body as { path?: string }).path !== c.backendPath
    ) {
      problems.push(
        `${c.name}: backend saw ${JSON.stringify((reply.body as { path?: string }).path)}, expected ${c.backendPath}`,
      );
    }
  }
  return problems;
}

// ---- Applying policy sets ----

let applied: string | undefined;
let generation = 0;

async function changeConfig(verb: "apply" | "delete", name: string, yaml: string): Promise<void> {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  const run = await crema([verb, "-f", file]);
  expect(run.code, `${verb} ${name}: ${run.stdout}${run.stderr}`).toBe(0);
}

async function markerToken(n: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: "marker" })
    .setIssuer(`${MARKER_ISSUER}/${n}`)
    .setSubject("probe")
    .setExpirationTime("10m")
    .sign(markerKey);
}

/**
 * Replaces the policies in force with `yaml`. Each generation also replaces the `marker`
 * RequestAuthentication, whose issuer names the generation: a token of the new issuer gets 401
 * until the server's sidecar has the configuration of the last change (the delete of the old
 * set comes first, so that configuration is exactly the new set), and anything but 401 after.
 * A token of the next generation's issuer must still get 401: that proves a marker is in force
 * at all (before the first one arrives, no token gets 401).
 */
async function usePolicies(yaml: string): Promise<void> {
  if (applied !== undefined) await changeConfig("delete", "previous.yaml", applied);
  generation++;
  const marker = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: marker, namespace: authz}
spec:
  selector: {matchLabels: {app: echo}}
  jwtRules: [{issuer: "${MARKER_ISSUER}/${generation}", jwks: '${markerJwks}'}]
`;
  await changeConfig("apply", `set-${generation}.yaml`, `${yaml}---\n${marker}`);
  applied = yaml;
  const probe = async (tokenGeneration: number) =>
    rawHttp(
      ips.echo,
      8080,
      requestHead("GET", "/__probe", {
        authorization: `Bearer ${await markerToken(tokenGeneration)}`,
      }),
    );
  let last: Reply | undefined;
  let next: Reply | undefined;
  await until(
    `policy set ${generation} reaches the server's sidecar`,
    async () => {
      last = await probe(generation);
      if (last.status === 401) return false;
      next = await probe(generation + 1);
      return next.status === 401;
    },
    { detail: () => JSON.stringify({ last, next }) },
  );
}

async function podIp(pod: string): Promise<string> {
  const run = await crema(["exec", pod, "--", "printenv", "POD_IP"]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim();
}

async function signToken(
  key: SigningKey,
  claims: Record<string, unknown>,
  expiresIn: string | number,
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer(ISSUER)
    .setAudience("echo")
    .setExpirationTime(expiresIn)
    .sign(key);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "crema-authz-"));
  stateDir = join(dir, "state");
  writeFileSync(join(dir, "app.yaml"), MANIFESTS);
  const [up] = await Promise.all([
    crema([
      "up",
      join(dir, "app.yaml"),
      "--detach",
      "--ingress-port",
      "0",
      "--ingress-tls-port",
      "0",
      "--pod-cidr",
      "127.65.0.0/16",
    ]),
    (async () => {
      const own = await generateKeyPair("ES256");
      const other = await generateKeyPair("ES256");
      const marker = await generateKeyPair("ES256");
      markerKey = marker.privateKey;
      jwks = JSON.stringify({
        keys: [{ ...(await exportJWK(own.publicKey)), kid: "k1", alg: "ES256" }],
      });
      markerJwks = JSON.stringify({
        keys: [{ ...(await exportJWK(marker.publicKey)), kid: "marker", alg: "ES256" }],
      });
      const now = Math.floor(Date.now() / 1000);
      tokens.alice = await signToken(
        own.privateKey,
        { sub: "alice", groups: ["admin", "dev"] },
        "10m",
      );
      tokens.bob = await signToken(own.privateKey, { sub: "bob", groups: ["dev"] }, "10m");
      tokens.expired = await signToken(
        own.privateKey,
        { sub: "alice", iat: now - 7200 },
        now - 3600,
      );
      tokens.forged = await signToken(other.privateKey, { sub: "alice", groups: ["admin"] }, "10m");
    })(),
  ]);
  expect(up.code, `${up.stdout}${up.stderr}`).toBe(0);
  [ips.echo, ips.sleep] = await Promise.all([podIp("echo"), podIp("sleep")]);
}, 120_000);

afterAll(async () => {
  await crema(["down"]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("AuthorizationPolicy on the local runtime, as a table", () => {
  it("each policy set answers every case as Istio does", async () => {
    const sets = policySets();
    const total = sets.reduce((n, s) => n + s.cases.length, 0);
    expect(total).toBeGreaterThanOrEqual(40);
    const problems: string[] = [];
    for (const set of sets) {
      await usePolicies(set.yaml);
      for (const problem of await runCases(set.cases)) problems.push(`[${set.name}] ${problem}`);
    }
    expect(problems).toEqual([]);
  }, 120_000);

  it("BASE: a DENY on /admin holds against dot segments and %2e, from this process and through a client sidecar", async () => {
    await usePolicies(DENY_ADMIN("authz"));
    // Through sleep's sidecar (absolute-form, as an app behind HTTP_PROXY sends it) and on to the
    // server's sidecar over mTLS: both proxies normalise, the DENY still decides.
    const viaSidecar: Case[] = [
      "/public/../admin",
      "/admin/./",
      "/public/%2e%2e/admin",
      "/%61dmin",
    ].map((path) => ({
      name: `via sleep's sidecar ${path}`,
      from: "sleep-raw",
      path,
      expect: 403,
    }));
    expect(await runCases([...bypassCases("BASE"), ...viaSidecar])).toEqual([]);
  }, 60_000);

  it("BASE: the recommended DENY-with-negative-matching holds against case and fragment tricks", async () => {
    await usePolicies(DENY_NOT_PUBLIC);
    const cases = RECOMMENDED_CASES.map(
      (r): Case => ({ name: r.path, from: "direct", path: r.path, expect: r.expect }),
    );
    expect(await runCases(cases)).toEqual([]);
  }, 60_000);
});

// ---- MERGE_SLASHES and DECODE_AND_MERGE_SLASHES: a control plane with --mesh-config ----

interface ModeMesh {
  mesh: Mesh;
  caDir: string;
  podIp: string;
}

const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;

async function startModeMesh(mode: Mode, host: number): Promise<ModeMesh> {
  const caDir = mkdtempSync(join(tmpdir(), "crema-authz-ca-"));
  const meshConfig = join(caDir, "mesh.yaml");
  writeFileSync(meshConfig, `pathNormalization:\n  normalization: ${mode}\n`);
  const config = `${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${podYaml({ name: "echo-1", ip: ip(host), labels: { app: "echo" }, ports: [8080] })}---
${DENY_ADMIN("default")}`;
  const mesh = await startMesh(SUBNET, config, {
    controlPlaneArgs: [
      "--ca-dir",
      caDir,
      "--secure-xds-address",
      "127.0.0.1:0",
      "--mesh-config",
      meshConfig,
    ],
  });
  try {
    // What a sidecar needs for its workload certificate (as bench/proxy.ts gives it).
    const key = await loadOrCreateBootstrapTokenKey(caDir);
    const token = await issueBootstrapToken(key, {
      namespace: "default",
      serviceAccount: "default",
    });
    const tokenFile = join(caDir, "token.jwt");
    writeFileSync(tokenFile, token);
    await mesh.startEcho({ pod: "echo-1", ip: ip(host, 2) });
    await mesh.startProxy({
      pod: "echo-1",
      ip: ip(host),
      labels: { app: "echo" },
      appAddress: ip(host, 2),
      extraArgs: [
        "--ca-address",
        mesh.controlPlane.secureXdsAddress!,
        "--ca-root-cert",
        join(caDir, "root-cert.pem"),
        "--token-file",
        tokenFile,
      ],
    });
  } catch (error) {
    await mesh.stop();
    rmSync(caDir, { recursive: true, force: true });
    throw error;
  }
  return { mesh, caDir, podIp: ip(host) };
}

describe.each([
  ["MERGE_SLASHES", 1],
  ["DECODE_AND_MERGE_SLASHES", 2],
] as const)("pathNormalization %s (a control plane given --mesh-config)", (mode, host) => {
  let modeMesh: ModeMesh | undefined;

  beforeAll(async () => {
    modeMesh = await startModeMesh(mode, host);
  }, 60_000);

  afterAll(async () => {
    await modeMesh?.mesh.stop();
    if (modeMesh) rmSync(modeMesh.caDir, { recursive: true, force: true });
  }, 30_000);

  it(`a DENY on /admin holds against every spelling ${mode} normalises`, async () => {
    const { podIp: server } = modeMesh!;
    const head = requestHead("GET", "/admin", {});
    await until(
      "the DENY reaches the server's sidecar",
      async () => (await rawHttp(server, 8080, head)).status === 403,
    );
    expect(await runCases(bypassCases(mode), server)).toEqual([]);
  }, 60_000);
});
