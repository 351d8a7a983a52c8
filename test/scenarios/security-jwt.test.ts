// RequestAuthentication end to end: the real control plane turns it into jwt_authn on the
// server's sidecar, and tokens signed in this test meet Envoy's outcomes there — valid passes
// (and reaches the app without the token), a bad one gets 401 with Envoy's body, a wrong
// audience 403, no token passes without a principal. Subnet 39.
import { createServer, request, type Server } from "node:http";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 39;
const ISSUER = "https://auth.coffee.example.com";
/** An issuer whose keys the control plane fetches from jwksUri (a server in this test). */
const REMOTE_ISSUER = "https://remote.coffee.example.com";
let mesh: Mesh;
let jwksServer: Server;
let jwksFetches = 0;
let signRemote: (key?: "served" | "other") => Promise<string>;
let publicPem: string;
let signWith: (
  key: "own" | "impostor",
  claims?: Record<string, unknown>,
  issuer?: string,
) => Promise<string>;
let clientIp: string;
let sign: (
  claims: Record<string, unknown>,
  options?: { expiresIn?: string; kid?: string; audience?: string },
) => Promise<string>;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: clientIp, port: 15001, path: url, headers }, (res) => {
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

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  publicPem = await exportSPKI(publicKey);
  const impostor = await generateKeyPair("RS256");
  signWith = (key, claims = {}, issuer = ISSUER) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(issuer)
      .setSubject("alice")
      .setAudience("coffee")
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(key === "own" ? privateKey : impostor.privateKey);
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  sign = (claims, options = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: options.kid ?? "k1" })
      .setIssuer(ISSUER)
      .setSubject("alice")
      .setAudience(options.audience ?? "coffee")
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? "10m")
      .sign(privateKey);
  const ip = (h: number, n = 1) => `127.${SUBNET}.${h}.${n}`;
  clientIp = ip(9);
  const served = await generateKeyPair("ES256");
  const other = await generateKeyPair("ES256");
  const remoteJwk = { ...(await exportJWK(served.publicKey)), kid: "r1", alg: "ES256" };
  signRemote = (key = "served") =>
    new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "r1" })
      .setIssuer(REMOTE_ISSUER)
      .setSubject("bob")
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(key === "served" ? served.privateKey : other.privateKey);
  jwksServer = createServer((_req, res) => {
    jwksFetches++;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys: [remoteJwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, ip(200), resolve));
  const jwksPort = (jwksServer.address() as { port: number }).port;
  mesh = await startMesh(
    SUBNET,
    `${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${podYaml({ name: "echo-1", ip: ip(1), labels: { app: "echo" }, ports: [8080] })}---
${podYaml({ name: "sleep", ip: clientIp, labels: { app: "sleep" } })}---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: echo-jwt, namespace: default}
spec:
  selector: {matchLabels: {app: echo}}
  jwtRules:
    - issuer: ${ISSUER}
      audiences: [coffee]
      jwks: '${JSON.stringify({ keys: [jwk] })}'
    - issuer: ${REMOTE_ISSUER}
      jwksUri: http://${ip(200)}:${jwksPort}/jwks.json
    - issuer: https://down.coffee.example.com
      jwksUri: http://${ip(201)}:1/jwks.json
`,
  );
  await mesh.startEcho({ pod: "echo-1", ip: ip(1, 2) });
  await mesh.startProxy({
    pod: "echo-1",
    ip: ip(1),
    labels: { app: "echo" },
    appAddress: ip(1, 2),
  });
  await mesh.startProxy({ pod: "sleep", ip: clientIp, labels: { app: "sleep" } });
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
  await new Promise((resolve) => jwksServer?.close(resolve));
});

describe("RequestAuthentication at the server's sidecar", () => {
  it("passes a valid token, and the app does not see it (forwardOriginalToken is off)", async () => {
    const reply = await call("http://echo/", { authorization: `Bearer ${await sign({})}` });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).headers.authorization).toBeUndefined();
  });

  it("passes a request without a token (no principal)", async () => {
    expect((await call("http://echo/")).status).toBe(200);
  });

  it.each([
    ["expired", () => sign({}, { expiresIn: "-5m" }), "Jwt is expired"],
    [
      "unknown kid",
      () => sign({}, { kid: "nope" }),
      "Jwks doesn't have key to match kid or alg from Jwt",
    ],
    [
      "malformed",
      async () => "abc",
      "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections",
    ],
    [
      "alg none",
      async () =>
        `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: "coffee" })).toString("base64url")}.`,
      undefined,
    ],
  ])("refuses an %s token with 401", async (_name, token, body) => {
    const reply = await call("http://echo/", { authorization: `Bearer ${await token()}` });
    expect(reply.status).toBe(401);
    expect(String(reply.headers["www-authenticate"])).toContain('Bearer realm="http://echo/"');
    if (body) expect(reply.body).toBe(body);
  });

  it("refuses a token for another audience with 403", async () => {
    const wrong = await call("http://echo/", {
      authorization: `Bearer ${await sign({}, { audience: "tea" })}`,
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toBe("Audiences in Jwt are not allowed");
  });

  it("accepts tokens signed with the keys the control plane fetched from jwksUri", async () => {
    // Until the key set arrives the sidecar holds istiod's fake one (every token refused); the
    // fetch is followed by a push.
    let reply: Reply | undefined;
    await until(
      "the sidecar accepts a token signed with the fetched keys",
      async () => {
        reply = await call("http://echo/", { authorization: `Bearer ${await signRemote()}` });
        return reply.status === 200;
      },
      { intervalMs: 50, detail: () => `last reply: ${JSON.stringify(reply)}` },
    );
    expect(jwksFetches).toBeGreaterThan(0);
    const forged = await call("http://echo/", {
      authorization: `Bearer ${await signRemote("other")}`,
    });
    expect(forged.status).toBe(401);
    expect(forged.body).toBe("Jwt verification fails");
  });

  it.each([
    [
      "not yet valid",
      () => signWith("own", { nbf: Math.floor(Date.now() / 1000) + 3600 }),
      "Jwt not yet valid",
    ],
    [
      "issuer no rule names",
      () => signWith("own", {}, "https://stranger.example.com"),
      "Jwt issuer is not configured",
    ],
    ["bad signature", () => signWith("impostor"), "Jwt verification fails"],
  ])("refuses a %s token with 401 and Envoy's reason", async (_name, token, body) => {
    const reply = await call("http://echo/", { authorization: `Bearer ${await token()}` });
    expect(reply.status).toBe(401);
    expect(reply.body).toBe(body);
  });

  it("refuses an HS256 token whose secret is the issuer's public key (algorithm confusion)", async () => {
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setAudience("coffee")
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(publicPem));
    const reply = await call("http://echo/", { authorization: `Bearer ${forged}` });
    expect(reply.status).toBe(401);
  });

  it("refuses tokens of an issuer whose JWKS server is down, and keeps serving others", async () => {
    const down = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer("https://down.coffee.example.com")
      .setExpirationTime("10m")
      .sign((await generateKeyPair("RS256")).privateKey);
    const reply = await call("http://echo/", { authorization: `Bearer ${down}` });
    expect(reply.status).toBe(401);
    expect(reply.body).not.toBe("");
    expect((await call("http://echo/", { authorization: `Bearer ${await sign({})}` })).status).toBe(
      200,
    );
  });
});
