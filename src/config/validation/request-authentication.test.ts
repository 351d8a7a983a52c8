// RequestAuthentication semantics: JWT issuers, key sources, token locations, outputs and timeouts.
import { describe, expect, it } from "vitest";
import { expectClean, invalidCases } from "../testing.ts";
import { jwksProblem, jwksUriProblem } from "./request-authentication-jwks.ts";

/** A RequestAuthentication whose `jwtRules:` entries (indented two spaces) start on line 7. */
const ra = (rules: string, extra = "") => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: jwt
spec:${extra}
  jwtRules:
${rules.replace(/^\n/, "")}`;

const JWKS = JSON.stringify({
  keys: [
    {
      kty: "RSA",
      e: "AQAB",
      n: "xAE7eB6qugXyCAG3yhh7pkDkT65pHymX-P7KfIupjf59vsdo91bSP9C8H07pSAGQO1MV_xFj9VswgsCg4R6otmg5PV2He95lZdHtOcU5DXIg_pbhLdKXbi66GlVeK6ABZOUW3WYtnNHD-91gVuoeJT_DwtGGcp4ignkgXfkiEm4sw-4sfb4qdt5oLbyVpmW6x9cfa7vs2WTfURiCrBoUqgBo_-4WTiULmmHSGZHOjzwa8WtrtOQGsAFjIbno85jp6MnGGGZPYZbDAa_b3y5u-YpW7ypZrvD8BgtKVjgtQgZhLAGezMt0ua3DRrWnKqTZ0BJ_EyxOGuHJrLsn00fnMQ",
    },
  ],
});

describe("RequestAuthentication semantics", () => {
  it("accepts jwksUri, inline jwks, token locations and claim outputs", () => {
    expectClean(
      ra(
        `
  - issuer: https://accounts.example.com
    jwksUri: https://accounts.example.com/.well-known/jwks.json
    audiences: [bookstore, "api.example.com"]
    fromHeaders:
    - name: x-jwt-assertion
      prefix: "Bearer "
    - name: Authorization
    fromParams: [access_token]
    fromCookies: [session]
    forwardOriginalToken: true
    outputPayloadToHeader: x-jwt-payload
    outputClaimToHeaders:
    - header: x-jwt-sub
      claim: sub
    spaceDelimitedClaims: [scope, permissions]
    timeout: 5s
  - issuer: testing@secure.istio.io
    jwks: '${JWKS}'
  - jwksUri: http://keycloak.auth.svc.cluster.local:8080/realms/demo/protocol/openid-connect/certs`,
        "\n  selector:\n    matchLabels:\n      app: productpage",
      ),
    );
    expectClean(
      ra(
        "  - issuer: example.com",
        "\n  targetRefs:\n  - kind: Gateway\n    group: gateway.networking.k8s.io\n    name: ingress",
      ),
    );
  });

  it("parses jwksUri and jwks as Istio does", () => {
    expect(jwksUriProblem("https://example.com:8443/keys")).toBeUndefined();
    expect(jwksUriProblem("http://[::1]:80/keys")).toBeUndefined();
    expect(jwksUriProblem("HTTPS://example.com/keys")).toBeUndefined();
    expect(jwksUriProblem("ftp://example.com/keys")).toMatch(/http/);
    expect(jwksUriProblem("example.com/keys")).toMatch(/http/);
    expect(jwksUriProblem("https://example.com:port/keys")).toMatch(/port/);
    expect(jwksUriProblem("https://example.com/%zz")).toMatch(/escape/);
    expect(jwksProblem('{"kty":"EC","crv":"P-256","x":"a","y":"b"}')).toBeUndefined();
    expect(jwksProblem('{"keys":[]}')).toBeUndefined();
    expect(jwksProblem('{"keys":[{"n":"x"}]}')).toMatch(/kty/);
    expect(jwksProblem('{"keys": {}}')).toMatch(/list/);
    expect(jwksProblem("[1]")).toMatch(/object/);
  });

  invalidCases([
    {
      name: "empty issuer",
      yaml: ra(`  - issuer: ""\n    jwksUri: https://example.com/keys`),
      code: "CREMA_VALIDATION_JWT",
      path: "spec.jwtRules[0].issuer",
      line: 7,
      column: 13,
    },
    {
      name: "neither issuer nor jwksUri",
      yaml: ra(`  - audiences: [a]`),
      code: "CREMA_VALIDATION_JWT",
      path: "spec.jwtRules[0].issuer",
      line: 7,
      column: 5,
    },
    {
      name: "jwksUri together with jwks",
      yaml: ra(`
  - issuer: example
    jwksUri: https://example.com/keys
    jwks: '{"keys": []}'`),
      code: "CREMA_VALIDATION_JWT",
      path: "spec.jwtRules[0].jwks",
      line: 9,
      column: 11,
    },
    {
      name: "jwksUri without http(s) scheme",
      yaml: ra(`
  - issuer: example
    jwksUri: example.com/keys`),
      code: "CREMA_VALIDATION_JWT",
      path: "spec.jwtRules[0].jwksUri",
      line: 8,
      column: 14,
    },
    {
      name: "jwksUri with a non-numeric port",
      yaml: ra(`
  - issuer: example
    jwks_uri: https://example.com:https/keys`),
      code: "CREMA_VALIDATION_JWT",
      path: "spec.jwtRules[0].jwks_uri",
      line: 8,
      column: 15,
    },
    {
      name: "inline jwks that is not JSON",
      yaml: ra(`
  - issuer: example
    jwks: "not json"`),
      code: "CREMA_VALIDATION_JWT",
      path: "spec.jwtRules[0].jwks",
      line: 8,
      column: 11,
    },
    {
      name: "empty audience",
      yaml: ra(`
  - issuer: example
    audiences: ["a", ""]`),
      code: "CREMA_VALIDATION_JWT",
      path: "spec.jwtRules[0].audiences[1]",
      line: 8,
      column: 22,
    },
    {
      name: "fromHeaders with an empty name",
      yaml: ra(`
  - issuer: example
    fromHeaders:
    - name: ""
      prefix: "Bearer "`),
      code: "CREMA_VALIDATION_HEADER",
      path: "spec.jwtRules[0].fromHeaders[0].name",
      line: 9,
      column: 13,
    },
    {
      name: "empty fromParams entry",
      yaml: ra(`
  - issuer: example
    fromParams: [""]`),
      code: "CREMA_VALIDATION_JWT",
      path: "spec.jwtRules[0].fromParams[0]",
      line: 8,
      column: 18,
    },
    {
      name: "empty fromCookies entry",
      yaml: ra(`
  - issuer: example
    fromCookies:
    - ""`),
      code: "CREMA_VALIDATION_JWT",
      path: "spec.jwtRules[0].fromCookies[0]",
      line: 9,
      column: 7,
    },
    {
      name: "outputClaimToHeaders to a pseudo-header",
      yaml: ra(`
  - issuer: example
    outputClaimToHeaders:
    - header: ":authority"
      claim: sub`),
      code: "CREMA_VALIDATION_HEADER",
      path: "spec.jwtRules[0].outputClaimToHeaders[0].header",
      line: 9,
      column: 15,
    },
    {
      name: "outputClaimToHeaders with an empty claim",
      yaml: ra(`
  - issuer: example
    outputClaimToHeaders:
    - header: x-sub
      claim: ""`),
      code: "CREMA_VALIDATION_JWT",
      path: "spec.jwtRules[0].outputClaimToHeaders[0].claim",
      line: 10,
      column: 14,
    },
    {
      name: "timeout below 1ms",
      yaml: ra(`
  - issuer: example
    timeout: 500us`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.jwtRules[0].timeout",
      line: 8,
      column: 14,
    },
    {
      name: "timeout with sub-millisecond precision",
      yaml: ra(`
  - issuer: example
    timeout: 1.0005s`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.jwtRules[0].timeout",
      line: 8,
      column: 14,
    },
    {
      name: "selector together with targetRef",
      yaml: ra(
        "  - issuer: example",
        "\n  selector:\n    matchLabels: {app: a}\n  targetRef:\n    kind: Service\n    name: a",
      ),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.targetRef",
      line: 9,
      column: 5,
    },
  ]);
});
