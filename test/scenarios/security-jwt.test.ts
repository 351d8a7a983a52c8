// RequestAuthentication end to end: the real control plane turns it into jwt_authn on the
// server's sidecar, and tokens signed in this test meet Envoy's outcomes there — valid passes
// (and reaches the app without the token), a bad one gets 401 with Envoy's body, a wrong
// audience 403, no token passes without a principal. Subnet 39.
import { request } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";

const SUBNET = 39;
const ISSUER = "https://auth.coffee.example.com";
let mesh: Mesh;
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
  const { publicKey, privateKey } = await generateKeyPair("RS256");
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
});
