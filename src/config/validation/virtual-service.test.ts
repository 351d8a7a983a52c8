import { describe, expect, it } from "vitest";
import { errorsOf, expectClean, invalidCases, validateYaml } from "../testing.ts";

/** A VirtualService whose spec body (indented two spaces) starts on line 6. */
const vs = (body: string, name = "r") => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
spec:
${body.replace(/^\n/, "")}`;

/** A one-line http rule, for cases whose subject is elsewhere. */
const HTTP = "  http: [{route: [{destination: {host: a}}]}]\n";

describe("VirtualService semantics: valid resources", () => {
  it("accepts weighted routing, AND/OR matches, header manipulation, retries, mirror and CORS", () => {
    expectClean(
      vs(`
  hosts:
  - reviews
  - reviews.example.com
  - "*.shop.example.com"
  - 10.0.0.7
  gateways:
  - mesh
  - istio-system/shop-gateway
  - shop-gateway
  exportTo: [".", "istio-system"]
  http:
  - name: jason
    match:
    - headers:
        end-user:
          exact: jason
        x_trace:
          regex: "^[a-f0-9]{16}$"
      uri:
        prefix: /reviews
      ignoreUriCase: true
    - uri:
        regex: "^/v[12]/reviews/.*"
      method:
        exact: GET
      authority:
        prefix: reviews
      scheme:
        exact: https
      queryParams:
        debug:
          exact: "1"
      withoutHeaders:
        x-canary:
          regex: "*"
      port: 9080
      sourceLabels:
        app: productpage
      sourceNamespace: default
      gateways: [mesh]
    route:
    - destination:
        host: reviews
        subset: v2
        port:
          number: 9080
      weight: 75
      headers:
        request:
          set:
            x-version: v2
        response:
          remove: [x-internal]
    - destination:
        host: reviews.default.svc.cluster.local
        subset: v3
      weight: 25
    timeout: 2s
    retries:
      attempts: 3
      perTryTimeout: 500ms
      retryOn: 5xx,gateway-error,reset,connect-failure,retriable-4xx,refused-stream,retriable-status-codes,retriable-headers,envoy-ratelimited,cancelled,deadline-exceeded,internal,resource-exhausted,unavailable,503
      retryRemoteLocalities: true
    headers:
      request:
        set:
          ":authority": reviews.internal
          x-request-start: "%START_TIME(%s.%3f)%"
        add:
          x-forwarded-client: "%DOWNSTREAM_REMOTE_ADDRESS%"
          x-percent: "100%%"
        remove: [x-debug]
      response:
        set:
          cache-control: no-store
        remove: [server]
    mirror:
      host: reviews-shadow
      subset: v2
    mirrorPercentage:
      value: 12.5
    corsPolicy:
      allowOrigins:
      - exact: https://shop.example.com
      - prefix: https://admin.
      - regex: "https://.*\\\\.example\\\\.org"
      allowMethods: [GET, POST, OPTIONS]
      allowHeaders: ["*", x-custom]
      exposeHeaders: [x-request-id]
      maxAge: 24h
      allowCredentials: true
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 0
    - destination:
        host: reviews
        subset: v2
      weight: 100
`),
    );
  });

  it("accepts redirects, direct responses, rewrites, fault injection and mirrors", () => {
    expectClean(
      vs(`
  hosts: [shop.example.com]
  gateways: [istio-system/shop-gateway]
  http:
  - name: legacy-redirect
    match:
    - uri:
        exact: /old
    redirect:
      uri: /new
      authority: shop.example.com
      redirectCode: 308
      scheme: https
      port: 8443
  - match:
    - uri:
        prefix: /derive
    redirect:
      scheme: https
      derivePort: FROM_PROTOCOL_DEFAULT
  - match:
    - uri:
        prefix: /health
    directResponse:
      status: 200
      body:
        string: '{"ok":true}'
  - match:
    - uri:
        prefix: /bytes
    directResponse:
      status: 503
      body:
        bytes: aGVsbG8=
  - match:
    - uri:
        prefix: /api/v1
    rewrite:
      uri: /v1
      authority: api.internal
    route:
    - destination:
        host: api
  - match:
    - uri:
        regex: "^/api/v2/(.*)$"
    rewrite:
      uriRegexRewrite:
        match: "^/api/v2/(.*)$"
        rewrite: /v2/\\1
    route:
    - destination:
        host: api
  - match:
    - headers:
        "@request.auth.claims.group":
          exact: admin
    fault:
      delay:
        percentage:
          value: 0.1
        fixedDelay: 5s
      abort:
        percentage:
          value: 10
        httpStatus: 503
    route:
    - destination:
        host: ratings
  - match:
    - uri:
        prefix: /grpc
    fault:
      abort:
        grpcStatus: UNAVAILABLE
    mirrors:
    - destination:
        host: grpc-shadow
      percentage:
        value: 50
    - destination:
        host: grpc-shadow-2
    retries:
      attempts: 0
    route:
    - destination:
        host: grpc
  - route:
    - destination:
        host: web
`),
    );
  });

  it("accepts tls and tcp rules, a bare '*' host on a gateway, and delegates", () => {
    expectClean(
      vs(`
  hosts:
  - "*"
  gateways: [istio-system/egress]
  tls:
  - match:
    - port: 443
      sniHosts:
      - reviews.example.com
      - "*.shop.example.com"
      destinationSubnets: ["10.0.0.0/8", "2001:db8::/32"]
    route:
    - destination:
        host: reviews
        port:
          number: 443
  tcp:
  - match:
    - port: 27017
      destinationSubnets: ["10.1.2.3"]
      sourceLabels:
        app: mongo-client
    route:
    - destination:
        host: mongo
        port:
          number: 5555
      weight: 80
    - destination:
        host: mongo-backup
      weight: 20
`),
    );
    expectClean(`${vs(
      `
  hosts: [shop.example.com]
  gateways: [istio-system/shop-gateway]
  http:
  - match:
    - uri:
        prefix: /reviews
    delegate:
      name: reviews
      namespace: team-a
`,
      "root",
    )}---
${vs(
  `
  http:
  - match:
    - uri:
        prefix: /reviews/v1
    route:
    - destination:
        host: reviews
        subset: v1
`,
  "reviews",
)}`);
  });
});

describe("VirtualService semantics: hosts, gateways and delegates", () => {
  invalidCases([
    {
      name: "host label with an underscore",
      yaml: vs(`
  hosts:
  - bad_host.example.com
${HTTP}`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.hosts[0]",
      line: 7,
      column: 5,
    },
    {
      name: "bare * host on a mesh VirtualService",
      yaml: vs(`
  hosts:
  - reviews
  - "*"
${HTTP}`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.hosts[1]",
      line: 8,
      column: 5,
    },
    {
      name: "wildcard in the middle of a host",
      yaml: vs(`
  hosts: [foo.*.example.com]
${HTTP}`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.hosts[0]",
      line: 6,
      column: 11,
    },
    {
      name: "all-numeric top-level label that is not an IP address",
      yaml: vs(`
  hosts:
  - reviews.123
${HTTP}`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.hosts[0]",
      line: 7,
      column: 5,
    },
    {
      name: "the same host twice",
      yaml: vs(`
  hosts:
  - reviews
  - reviews
${HTTP}`),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.hosts[1]",
      line: 8,
      column: 5,
    },
    {
      name: "a wildcard host that covers another host",
      yaml: vs(`
  hosts:
  - "*.example.com"
  - api.example.com
${HTTP}`),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.hosts[1]",
      line: 8,
      column: 5,
    },
    {
      name: "a delegate (no hosts) with gateways",
      yaml: vs(`
  gateways:
  - istio-system/gw
${HTTP}`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.gateways",
      line: 7,
      column: 3,
    },
    {
      name: "a delegate (no hosts) with tcp rules",
      yaml: vs(`
  tcp:
  - route:
    - destination:
        host: mongo
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.tcp",
      line: 7,
      column: 3,
    },
    {
      name: "a gateway name that is not a DNS label",
      yaml: vs(`
  hosts: [a]
  gateways:
  - istio-system/Bad_Gateway
${HTTP}`),
      code: "CREMA_VALIDATION_NAME",
      path: "spec.gateways[0]",
      line: 8,
      column: 5,
    },
    {
      name: "a gateway reference with an empty name",
      yaml: vs(`
  hosts: [a]
  gateways: [istio-system/]
${HTTP}`),
      code: "CREMA_VALIDATION_NAME",
      path: "spec.gateways[0]",
      line: 7,
      column: 14,
    },
    {
      name: "the legacy name.namespace gateway form",
      yaml: vs(`
  hosts: [a]
  gateways:
  - shop-gateway.istio-system
${HTTP}`),
      code: "CREMA_VALIDATION_DEPRECATED",
      path: "spec.gateways[0]",
      line: 8,
      column: 5,
      severity: "warning",
    },
    {
      name: "no http, tls or tcp rule",
      yaml: vs(`
  hosts: [reviews]
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec",
      line: 6,
      column: 3,
    },
    {
      name: "exportTo ~ outside a ServiceEntry",
      yaml: vs(`
  hosts: [a]
  exportTo: ["~"]
${HTTP}`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.exportTo[0]",
      line: 7,
      column: 14,
    },
    {
      name: "exportTo with both . and the own namespace",
      yaml: vs(`
  hosts: [a]
  exportTo:
  - "."
  - default
${HTTP}`),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.exportTo[1]",
      line: 9,
      column: 5,
    },
  ]);
});

describe("VirtualService semantics: http actions and destinations", () => {
  invalidCases([
    {
      name: "an http rule with neither route, redirect nor directResponse",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - uri:
        prefix: /x
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.http[0]",
      line: 8,
      column: 5,
    },
    {
      name: "route and redirect together",
      yaml: vs(`
  hosts: [a]
  http:
  - route:
    - destination: {host: a}
    redirect:
      uri: /elsewhere
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.http[0].redirect",
      line: 11,
      column: 7,
    },
    {
      name: "directResponse and route together",
      yaml: vs(`
  hosts: [a]
  http:
  - route:
    - destination: {host: a}
    directResponse:
      status: 503
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.http[0].directResponse",
      line: 11,
      column: 7,
    },
    {
      name: "fault on a redirect",
      yaml: vs(`
  hosts: [a]
  http:
  - redirect: {uri: /x}
    fault:
      abort: {httpStatus: 500}
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.http[0].fault",
      line: 10,
      column: 7,
    },
    {
      name: "rewrite on a redirect",
      yaml: vs(`
  hosts: [a]
  http:
  - redirect: {uri: /x}
    rewrite: {uri: /y}
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.http[0].rewrite",
      line: 9,
      column: 14,
    },
    {
      name: "a root rule with delegate that also routes",
      yaml: vs(`
  hosts: [a]
  http:
  - delegate:
      name: child
    route:
    - destination: {host: a}
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.http[0].route",
      line: 11,
      column: 5,
    },
    {
      name: "a delegate VirtualService that delegates again",
      yaml: vs(`
  http:
  - delegate:
      name: grandchild
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.http[0].delegate",
      line: 8,
      column: 7,
    },
    {
      name: "a negative weight",
      yaml: vs(`
  hosts: [a]
  http:
  - route:
    - destination:
        host: a
      weight: -10
`),
      code: "CREMA_VALIDATION_WEIGHT",
      path: "spec.http[0].route[0].weight",
      line: 11,
      column: 15,
    },
    {
      name: "several destinations whose weights are all zero",
      yaml: vs(`
  hosts: [a]
  http:
  - route:
    - destination: {host: a, subset: v1}
    - destination: {host: a, subset: v2}
`),
      code: "CREMA_VALIDATION_WEIGHT",
      path: "spec.http[0].route",
      line: 9,
      column: 5,
    },
    {
      name: "a destination host of *",
      yaml: vs(`
  hosts: [a]
  http:
  - route:
    - destination:
        host: "*"
`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.http[0].route[0].destination.host",
      line: 10,
      column: 15,
    },
    {
      name: "a destination host that is an IP address",
      yaml: vs(`
  hosts: [a]
  http:
  - route:
    - destination:
        host: 10.1.2.3
`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.http[0].route[0].destination.host",
      line: 10,
      column: 15,
    },
    {
      name: "a destination port out of range",
      yaml: vs(`
  hosts: [a]
  http:
  - route:
    - destination:
        host: a
        port:
          number: 70000
`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.http[0].route[0].destination.port.number",
      line: 12,
      column: 19,
    },
    {
      name: "a subset name with a dot",
      yaml: vs(`
  hosts: [a]
  http:
  - route:
    - destination:
        host: a
        subset: v1.0
`),
      code: "CREMA_VALIDATION_NAME",
      path: "spec.http[0].route[0].destination.subset",
      line: 11,
      column: 17,
    },
    {
      name: "a pseudo-header other than :authority set on a destination",
      yaml: vs(`
  hosts: [a]
  http:
  - route:
    - destination: {host: a}
      headers:
        request:
          add:
            ":method": POST
`),
      code: "CREMA_VALIDATION_HEADER",
      path: 'spec.http[0].route[0].headers.request.add[":method"]',
      line: 13,
      column: 24,
    },
  ]);
});

describe("VirtualService semantics: http matches", () => {
  invalidCases([
    {
      name: "a StringMatch with both exact and prefix",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - uri:
        exact: /a
        prefix: /b
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.http[0].match[0].uri.prefix",
      line: 11,
      column: 17,
    },
    {
      name: "a regex with lookahead (not RE2)",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - uri:
        regex: "/a(?=b)"
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_REGEX",
      path: "spec.http[0].match[0].uri.regex",
      line: 10,
      column: 16,
    },
    {
      name: "an empty prefix on method",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - method:
        prefix: ""
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.http[0].match[0].method.prefix",
      line: 10,
      column: 17,
    },
    {
      name: "an empty header name",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - headers:
        "":
          exact: x
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_HEADER",
      path: 'spec.http[0].match[0].headers[""]',
      line: 11,
      column: 11,
    },
    {
      name: "a pseudo-header in a header match",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - headers:
        ":authority":
          exact: x
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_HEADER",
      path: 'spec.http[0].match[0].headers[":authority"]',
      line: 11,
      column: 11,
    },
    {
      name: "a header match without a value",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - headers:
        end-user:
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.http[0].match[0].headers.end-user",
      line: 10,
      column: 18,
    },
    {
      name: "an invalid regex in withoutHeaders",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - withoutHeaders:
        x-canary:
          regex: "("
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_REGEX",
      path: "spec.http[0].match[0].withoutHeaders.x-canary.regex",
      line: 11,
      column: 18,
    },
    {
      name: "a match port out of range",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - port: 70000
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.http[0].match[0].port",
      line: 9,
      column: 13,
    },
    {
      name: "an invalid sourceLabels key",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - sourceLabels:
        "app!": web
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_LABELS",
      path: 'spec.http[0].match[0].sourceLabels["app!"]',
      line: 10,
      column: 17,
    },
    {
      name: "a sourceNamespace that is not a DNS label",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - sourceNamespace: team_a
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_NAME",
      path: "spec.http[0].match[0].sourceNamespace",
      line: 9,
      column: 24,
    },
    {
      name: "JWT claim routing on a mesh VirtualService",
      yaml: vs(`
  hosts: [a]
  http:
  - match:
    - headers:
        "@request.auth.claims.group":
          exact: admin
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_INVALID",
      path: 'spec.http[0].match[0].headers["@request.auth.claims.group"]',
      line: 11,
      column: 11,
    },
  ]);
});

describe("VirtualService semantics: redirect, rewrite, directResponse", () => {
  invalidCases([
    {
      name: "rewrite with both uri and uriRegexRewrite",
      yaml: vs(`
  hosts: [a]
  http:
  - rewrite:
      uri: /v1
      uriRegexRewrite:
        match: "^/a"
        rewrite: /b
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.http[0].rewrite.uriRegexRewrite",
      line: 11,
      column: 9,
    },
    {
      name: "an empty rewrite",
      yaml: vs(`
  hosts: [a]
  http:
  - rewrite: {}
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.http[0].rewrite",
      line: 8,
      column: 14,
    },
    {
      name: "uriRegexRewrite without rewrite",
      yaml: vs(`
  hosts: [a]
  http:
  - rewrite:
      uriRegexRewrite:
        match: "^/a"
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.http[0].rewrite.uriRegexRewrite",
      line: 10,
      column: 9,
    },
    {
      name: "redirect with both port and derivePort",
      yaml: vs(`
  hosts: [a]
  http:
  - redirect:
      port: 8443
      derivePort: FROM_REQUEST_PORT
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.http[0].redirect.derivePort",
      line: 10,
      column: 19,
    },
    {
      name: "a redirect code that is not 3xx",
      yaml: vs(`
  hosts: [a]
  http:
  - redirect:
      uri: /x
      redirectCode: 200
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.http[0].redirect.redirectCode",
      line: 10,
      column: 21,
    },
    {
      name: "a redirect scheme other than http/https",
      yaml: vs(`
  hosts: [a]
  http:
  - redirect:
      scheme: ftp
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.http[0].redirect.scheme",
      line: 9,
      column: 15,
    },
    {
      name: "a redirect that changes nothing",
      yaml: vs(`
  hosts: [a]
  http:
  - redirect:
      redirectCode: 302
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.http[0].redirect",
      line: 9,
      column: 7,
    },
    {
      name: "a direct response status below 200",
      yaml: vs(`
  hosts: [a]
  http:
  - directResponse:
      status: 101
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.http[0].directResponse.status",
      line: 9,
      column: 15,
    },
    {
      name: "a direct response body with both string and bytes",
      yaml: vs(`
  hosts: [a]
  http:
  - directResponse:
      status: 200
      body:
        string: hi
        bytes: aGk=
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.http[0].directResponse.body.bytes",
      line: 12,
      column: 16,
    },
    {
      name: "mirror and mirrors together",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    mirror: {host: b}
    mirrors:
    - destination: {host: c}
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.http[0].mirrors",
      line: 11,
      column: 5,
    },
    {
      name: "an invalid mirror host",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    mirror:
      host: shadow_svc
`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.http[0].mirror.host",
      line: 10,
      column: 13,
    },
    {
      name: "a mirror percentage over 100",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    mirror: {host: b}
    mirrorPercentage:
      value: 101
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.http[0].mirrorPercentage.value",
      line: 11,
      column: 14,
    },
    {
      name: "a negative percentage on a mirrors entry",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    mirrors:
    - destination: {host: b}
      percentage:
        value: -1
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.http[0].mirrors[0].percentage.value",
      line: 12,
      column: 16,
    },
    {
      name: "the deprecated mirror_percent",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    mirror: {host: b}
    mirror_percent: 50
`),
      code: "CREMA_VALIDATION_DEPRECATED",
      path: "spec.http[0].mirror_percent",
      line: 10,
      column: 21,
      severity: "warning",
    },
    {
      name: "a deprecated mirrorPercent over 100",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    mirror: {host: b}
    mirrorPercent: 150
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.http[0].mirrorPercent",
      line: 10,
      column: 20,
    },
  ]);
});

describe("VirtualService semantics: timeouts, retries and faults", () => {
  invalidCases([
    {
      name: "a zero route timeout",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    timeout: 0s
`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.http[0].timeout",
      line: 9,
      column: 14,
    },
    {
      name: "a timeout finer than a millisecond",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    timeout: 1500us
`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.http[0].timeout",
      line: 9,
      column: 14,
    },
    {
      name: "a negative number of attempts",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    retries:
      attempts: -1
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.http[0].retries.attempts",
      line: 10,
      column: 17,
    },
    {
      name: "attempts 0 combined with retryOn",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    retries:
      attempts: 0
      retryOn: 5xx
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.http[0].retries.attempts",
      line: 10,
      column: 17,
    },
    {
      name: "perTryTimeout without attempts (which default to 0)",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    retries:
      perTryTimeout: 1s
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.http[0].retries",
      line: 10,
      column: 7,
    },
    {
      name: "a zero perTryTimeout",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    retries:
      attempts: 2
      perTryTimeout: 0s
`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.http[0].retries.perTryTimeout",
      line: 11,
      column: 22,
    },
    {
      name: "an unknown retryOn policy",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    retries:
      attempts: 2
      retryOn: 5xx,on-error
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.http[0].retries.retryOn",
      line: 11,
      column: 16,
    },
    {
      name: "a space after a comma in retryOn",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    retries:
      attempts: 2
      retryOn: "5xx, reset"
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.http[0].retries.retryOn",
      line: 11,
      column: 16,
    },
    {
      name: "fault injection with neither abort nor delay",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    fault: {}
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.http[0].fault",
      line: 9,
      column: 12,
    },
    {
      name: "a delay percentage over 100",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    fault:
      delay:
        fixedDelay: 1s
        percentage:
          value: 150
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.http[0].fault.delay.percentage.value",
      line: 13,
      column: 18,
    },
    {
      name: "an abort percentage below the 0.0001 precision",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    fault:
      abort:
        httpStatus: 503
        percentage:
          value: 0.00001
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.http[0].fault.abort.percentage.value",
      line: 13,
      column: 18,
    },
    {
      name: "a zero fixedDelay",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    fault:
      delay:
        fixedDelay: 0s
`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.http[0].fault.delay.fixedDelay",
      line: 11,
      column: 21,
    },
    {
      name: "a delay without fixedDelay injects nothing",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    fault:
      delay:
        percentage: {value: 10}
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.http[0].fault.delay",
      line: 11,
      column: 9,
      severity: "warning",
    },
    {
      name: "exponentialDelay (unsupported)",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    fault:
      delay:
        exponentialDelay: 1s
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.http[0].fault.delay.exponentialDelay",
      line: 11,
      column: 27,
    },
    {
      name: "the deprecated integer delay percent",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    fault:
      delay:
        fixedDelay: 1s
        percent: 10
`),
      code: "CREMA_VALIDATION_DEPRECATED",
      path: "spec.http[0].fault.delay.percent",
      line: 12,
      column: 18,
      severity: "warning",
    },
    {
      name: "an abort status above 600",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    fault:
      abort:
        httpStatus: 601
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.http[0].fault.abort.httpStatus",
      line: 11,
      column: 21,
    },
    {
      name: "an unknown gRPC status",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    fault:
      abort:
        grpcStatus: NOT_OK
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.http[0].fault.abort.grpcStatus",
      line: 11,
      column: 21,
    },
    {
      name: "an abort without a status injects nothing",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    fault:
      abort:
        percentage: {value: 5}
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.http[0].fault.abort",
      line: 11,
      column: 9,
      severity: "warning",
    },
  ]);
});

describe("VirtualService semantics: headers and CORS", () => {
  invalidCases([
    {
      name: "setting the :path pseudo-header",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    headers:
      request:
        set:
          ":path": /x
`),
      code: "CREMA_VALIDATION_HEADER",
      path: 'spec.http[0].headers.request.set[":path"]',
      line: 12,
      column: 20,
    },
    {
      name: "setting Host on a response",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    headers:
      response:
        set:
          host: b
`),
      code: "CREMA_VALIDATION_HEADER",
      path: "spec.http[0].headers.response.set.host",
      line: 12,
      column: 17,
    },
    {
      name: "removing :authority from a request",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    headers:
      request:
        remove:
        - ":authority"
`),
      code: "CREMA_VALIDATION_HEADER",
      path: "spec.http[0].headers.request.remove[0]",
      line: 12,
      column: 11,
    },
    {
      name: "an unescaped % in a header value",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    headers:
      response:
        add:
          x-ratio: "50%"
`),
      code: "CREMA_VALIDATION_HEADER",
      path: "spec.http[0].headers.response.add.x-ratio",
      line: 12,
      column: 20,
    },
    {
      name: "the authority rewritten twice",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    rewrite:
      authority: b.example.com
    headers:
      request:
        set:
          host: c.example.com
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.http[0].headers.request.set.host",
      line: 14,
      column: 17,
    },
    {
      name: "an empty CORS origin",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    corsPolicy:
      allowOrigins:
      - exact: ""
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.http[0].corsPolicy.allowOrigins[0].exact",
      line: 11,
      column: 16,
    },
    {
      name: "a lowercase CORS method",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    corsPolicy:
      allowMethods: [GET, post]
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.http[0].corsPolicy.allowMethods[1]",
      line: 10,
      column: 27,
    },
    {
      name: "a CORS header name with a space",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    corsPolicy:
      allowHeaders:
      - "x custom"
`),
      code: "CREMA_VALIDATION_HEADER",
      path: "spec.http[0].corsPolicy.allowHeaders[0]",
      line: 11,
      column: 9,
    },
    {
      name: "a CORS maxAge with sub-second precision",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    corsPolicy:
      maxAge: 1500ms
`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.http[0].corsPolicy.maxAge",
      line: 10,
      column: 15,
    },
    {
      name: "the deprecated allowOrigin",
      yaml: vs(`
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    corsPolicy:
      allowOrigin: ["*"]
`),
      code: "CREMA_VALIDATION_DEPRECATED",
      path: "spec.http[0].corsPolicy.allowOrigin",
      line: 10,
      column: 20,
      severity: "warning",
    },
  ]);
});

describe("VirtualService semantics: tls and tcp rules", () => {
  invalidCases([
    {
      name: "a tls rule with an empty match list",
      yaml: vs(`
  hosts: [a.example.com]
  tls:
  - match: []
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.tls[0].match",
      line: 8,
      column: 12,
    },
    {
      name: "an SNI host outside the VirtualService hosts",
      yaml: vs(`
  hosts: [a.example.com]
  tls:
  - match:
    - sniHosts:
      - b.example.com
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.tls[0].match[0].sniHosts[0]",
      line: 10,
      column: 9,
    },
    {
      name: "an SNI host that is an IP address",
      yaml: vs(`
  hosts: [a.example.com]
  tls:
  - match:
    - sniHosts:
      - 10.0.0.1
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.tls[0].match[0].sniHosts[0]",
      line: 10,
      column: 9,
      severity: "warning",
    },
    {
      name: "an invalid destination subnet",
      yaml: vs(`
  hosts: [a.example.com]
  tls:
  - match:
    - sniHosts: [a.example.com]
      destinationSubnets:
      - 10.0.0.0/33
    route: [{destination: {host: a}}]
`),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.tls[0].match[0].destinationSubnets[0]",
      line: 11,
      column: 9,
    },
    {
      name: "a tcp rule without a route",
      yaml: vs(`
  hosts: [mongo]
  tcp:
  - match:
    - port: 27017
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.tcp[0]",
      line: 8,
      column: 5,
    },
    {
      name: "a negative tcp weight",
      yaml: vs(`
  hosts: [mongo]
  tcp:
  - route:
    - destination: {host: mongo}
      weight: -1
`),
      code: "CREMA_VALIDATION_WEIGHT",
      path: "spec.tcp[0].route[0].weight",
      line: 10,
      column: 15,
    },
  ]);
});

describe("VirtualService semantics: reporting", () => {
  it("rejects a body larger than 1MB and warns above 100KB", () => {
    const body = (size: number) =>
      vs(`
  hosts: [a]
  http:
  - directResponse:
      status: 200
      body:
        string: "${"x".repeat(size)}"
`);
    const big = errorsOf(validateYaml(body(1_100_000)).diagnostics);
    expect(big.map((d) => [d.code, d.path])).toEqual([
      ["CREMA_VALIDATION_RANGE", "spec.http[0].directResponse.body"],
    ]);
    const medium = validateYaml(body(200_000)).diagnostics;
    expect(medium.map((d) => [d.severity, d.code])).toEqual([
      ["warning", "CREMA_VALIDATION_RANGE"],
    ]);
  });

  it("reports every problem of a rule, not only the first", () => {
    const { diagnostics } = validateYaml(
      vs(`
  hosts: [a]
  http:
  - route:
    - destination: {host: "*"}
      weight: -1
    timeout: 0s
`),
    );
    expect(diagnostics.map((d) => d.path).sort()).toEqual([
      "spec.http[0].route[0].destination.host",
      "spec.http[0].route[0].weight",
      "spec.http[0].timeout",
    ]);
  });
});
