import { describe, expect, it } from "vitest";
import { expectClean, invalidCases, validateYaml } from "../testing.ts";

/** A DestinationRule whose spec body (indented two spaces) starts on line 6. */
const dr = (body: string, name = "r") => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ${name}
spec:
${body.replace(/^\n/, "")}`;

describe("DestinationRule semantics: valid resources", () => {
  it("accepts load balancing, locality failover, connection pools, outlier detection and TLS", () => {
    expectClean(
      dr(`
  host: reviews.default.svc.cluster.local
  exportTo: ["*"]
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
      localityLbSetting:
        enabled: true
        failover:
        - from: us-east
          to: us-west
        failoverPriority:
        - topology.istio.io/network
      warmup:
        duration: 30s
        minimumPercent: 10
        aggression: 2
    connectionPool:
      tcp:
        maxConnections: 100
        connectTimeout: 30ms
        idleTimeout: 0s
        maxConnectionDuration: 1h
        tcpKeepalive:
          time: 7200s
          interval: 75s
          probes: 9
      http:
        http1MaxPendingRequests: 1024
        http2MaxRequests: 1024
        maxRequestsPerConnection: 10
        maxRetries: 3
        idleTimeout: 1h
        h2UpgradePolicy: UPGRADE
        maxConcurrentStreams: 100
    outlierDetection:
      consecutive5xxErrors: 5
      consecutiveGatewayErrors: 3
      consecutiveLocalOriginFailures: 2
      splitExternalLocalOriginErrors: true
      interval: 10s
      baseEjectionTime: 30s
      maxEjectionPercent: 50
      minHealthPercent: 20
    tls:
      mode: ISTIO_MUTUAL
    retryBudget:
      percent: 20
      minRetryConcurrency: 3
    portLevelSettings:
    - port:
        number: 9080
      loadBalancer:
        consistentHash:
          httpCookie:
            name: user
            path: /
            ttl: 0s
          ringHash:
            minimumRingSize: 1024
    - port:
        number: 9443
      tls:
        mode: SIMPLE
        credentialName: reviews-ca
        sni: reviews.example.com
        subjectAltNames: [reviews.example.com]
    - port:
        number: 9090
      connectionPool:
        http:
          useClientProtocol: true
`),
    );
  });

  it("accepts subsets with their own policies, consistent hashing and locality distribution", () => {
    expectClean(
      dr(`
  host: reviews
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
      app.kubernetes.io/name: reviews
    trafficPolicy:
      loadBalancer:
        consistentHash:
          httpHeaderName: x-user
          maglev:
            tableSize: 65537
        localityLbSetting:
          distribute:
          - from: us-west/zone1/*
            to:
              "us-west/zone1/*": 80
              "us-west/zone2/*": 20
          - from: us-west/zone2/*
            to:
              "us-west/zone2/*": 100
  - name: v3
    labels:
      version: v3
    trafficPolicy:
      loadBalancer:
        consistentHash:
          useSourceIp: true
      tls:
        mode: MUTUAL
        clientCertificate: /etc/certs/client.pem
        privateKey: /etc/certs/key.pem
        caCertificates: /etc/certs/ca.pem
  - name: Canary-1
    trafficPolicy:
      loadBalancer:
        consistentHash:
          httpQueryParameterName: user
      tls:
        mode: SIMPLE
        insecureSkipVerify: true
      proxyProtocol:
        version: V2
`),
    );
  });

  it("accepts wildcard hosts, tunnels and a workload selector kept in its namespace", () => {
    expectClean(
      dr(`
  host: "*.example.com"
  workloadSelector:
    matchLabels:
      app: sleep
  exportTo: ["."]
  trafficPolicy:
    tunnel:
      protocol: CONNECT
      targetHost: egress-gw.istio-system.svc.cluster.local
      targetPort: 15009
    tls:
      mode: DISABLE
`),
    );
    expectClean(
      dr(`
  host: "*"
  trafficPolicy:
    tunnel:
      targetHost: 10.0.0.9
      targetPort: 8080
`),
    );
  });
});

describe("DestinationRule semantics: host, subsets, exportTo, selector", () => {
  invalidCases([
    {
      name: "a host label with an underscore",
      yaml: dr(`
  host: reviews_v1.default.svc.cluster.local
`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.host",
      line: 6,
      column: 9,
    },
    {
      name: "an IP address as host",
      yaml: dr(`
  host: 10.0.0.1
`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.host",
      line: 6,
      column: 9,
    },
    {
      name: "an empty host",
      yaml: dr(`
  host: ""
`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.host",
      line: 6,
      column: 9,
    },
    {
      name: "two subsets with the same name",
      yaml: dr(`
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v1
    labels: {version: v2}
`),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.subsets[1].name",
      line: 10,
      column: 11,
    },
    {
      name: "a subset name with an underscore",
      yaml: dr(`
  host: reviews
  subsets:
  - name: v1_0
`),
      code: "CREMA_VALIDATION_NAME",
      path: "spec.subsets[0].name",
      line: 8,
      column: 11,
    },
    {
      name: "an empty subset name",
      yaml: dr(`
  host: reviews
  subsets:
  - name: ""
`),
      code: "CREMA_VALIDATION_NAME",
      path: "spec.subsets[0].name",
      line: 8,
      column: 11,
    },
    {
      name: "an invalid subset label key",
      yaml: dr(`
  host: reviews
  subsets:
  - name: v1
    labels:
      "version!": v1
`),
      code: "CREMA_VALIDATION_LABELS",
      path: 'spec.subsets[0].labels["version!"]',
      line: 10,
      column: 19,
    },
    {
      name: "exportTo ~",
      yaml: dr(`
  host: reviews
  exportTo:
  - "~"
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.exportTo[0]",
      line: 8,
      column: 5,
    },
    {
      name: "a workload-selected rule exported to every namespace",
      yaml: dr(`
  host: reviews
  workloadSelector:
    matchLabels: {app: web}
  exportTo:
  - "*"
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.exportTo",
      line: 10,
      column: 3,
    },
    {
      name: "a wildcard in a workload selector label",
      yaml: dr(`
  host: reviews
  workloadSelector:
    matchLabels:
      app: "web-*"
`),
      code: "CREMA_VALIDATION_LABELS",
      path: "spec.workloadSelector.matchLabels.app",
      line: 9,
      column: 12,
    },
    {
      name: "a workload selector without labels",
      yaml: dr(`
  host: reviews
  workloadSelector:
    matchLabels: {}
`),
      code: "CREMA_VALIDATION_LABELS",
      path: "spec.workloadSelector",
      line: 8,
      column: 5,
      severity: "warning",
    },
  ]);
});

describe("DestinationRule semantics: traffic policy shape", () => {
  invalidCases([
    {
      name: "an empty traffic policy",
      yaml: dr(`
  host: reviews
  trafficPolicy: {}
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.trafficPolicy",
      line: 7,
      column: 18,
    },
    {
      name: "tunnel and proxyProtocol together",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    tunnel:
      targetHost: gw.example.com
      targetPort: 15009
    proxyProtocol:
      version: V1
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.trafficPolicy.proxyProtocol",
      line: 12,
      column: 7,
    },
    {
      name: "a port-level setting without a port",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - loadBalancer:
        simple: RANDOM
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.trafficPolicy.portLevelSettings[0]",
      line: 9,
      column: 7,
    },
    {
      name: "a port-level port out of range",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - port:
        number: 0
      loadBalancer:
        simple: RANDOM
`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.trafficPolicy.portLevelSettings[0].port.number",
      line: 10,
      column: 17,
    },
    {
      name: "a port-level setting with nothing to set",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - port:
        number: 80
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.trafficPolicy.portLevelSettings[0]",
      line: 9,
      column: 7,
    },
    {
      name: "two port-level settings for one port",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - port: {number: 80}
      loadBalancer: {simple: RANDOM}
    - port:
        number: 80
      loadBalancer: {simple: ROUND_ROBIN}
`),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.trafficPolicy.portLevelSettings[1].port.number",
      line: 12,
      column: 17,
      severity: "warning",
    },
    {
      name: "an invalid setting inside a subset's policy",
      yaml: dr(`
  host: reviews
  subsets:
  - name: v1
    trafficPolicy:
      outlierDetection:
        interval: 0s
`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.subsets[0].trafficPolicy.outlierDetection.interval",
      line: 11,
      column: 19,
    },
    {
      name: "a retry budget over 100 percent",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    retryBudget:
      percent: 150
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.trafficPolicy.retryBudget.percent",
      line: 9,
      column: 16,
    },
  ]);
});

describe("DestinationRule semantics: load balancer", () => {
  invalidCases([
    {
      name: "simple and consistentHash together",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
      consistentHash:
        useSourceIp: true
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.trafficPolicy.loadBalancer.consistentHash",
      line: 11,
      column: 9,
    },
    {
      name: "two hash keys",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpHeaderName: x-user
        useSourceIp: true
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.trafficPolicy.loadBalancer.consistentHash.useSourceIp",
      line: 11,
      column: 22,
    },
    {
      name: "ringHash and maglev together",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash:
        useSourceIp: true
        ringHash: {minimumRingSize: 1024}
        maglev: {tableSize: 65537}
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.trafficPolicy.loadBalancer.consistentHash.maglev",
      line: 12,
      column: 17,
    },
    {
      name: "a hash cookie with an empty name",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpCookie:
          name: ""
          ttl: 10s
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name",
      line: 11,
      column: 17,
    },
    {
      name: "the deprecated minimumRingSize",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash:
        useSourceIp: true
        minimumRingSize: 1024
`),
      code: "CREMA_VALIDATION_DEPRECATED",
      path: "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize",
      line: 11,
      column: 26,
      severity: "warning",
    },
    {
      name: "minimumRingSize together with ringHash",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash:
        useSourceIp: true
        minimumRingSize: 1024
        ringHash: {minimumRingSize: 2048}
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize",
      line: 11,
      column: 26,
    },
    {
      name: "a maglev table size that is not prime",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash:
        useSourceIp: true
        maglev:
          tableSize: 65536
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize",
      line: 12,
      column: 22,
    },
    {
      name: "a maglev table size too large",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash:
        useSourceIp: true
        maglev:
          tableSize: 5000011
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize",
      line: 12,
      column: 22,
    },
    {
      name: "maglev without a table size",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash:
        useSourceIp: true
        maglev: {}
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.trafficPolicy.loadBalancer.consistentHash.maglev",
      line: 11,
      column: 17,
    },
    {
      name: "locality distribute and failover together",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 5}
    loadBalancer:
      localityLbSetting:
        distribute:
        - from: us-west/*
          to: {"us-west/*": 100}
        failover:
        - from: us-west
          to: us-east
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.trafficPolicy.loadBalancer.localityLbSetting.failover",
      line: 15,
      column: 9,
    },
    {
      name: "distribute weights that do not add up to 100",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        distribute:
        - from: us-west/zone1/*
          to:
            "us-west/zone1/*": 70
            "us-west/zone2/*": 20
`),
      code: "CREMA_VALIDATION_WEIGHT",
      path: "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to",
      line: 13,
      column: 13,
    },
    {
      name: "a zero distribute weight",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        distribute:
        - from: us-west/zone1/*
          to:
            "us-west/zone1/*": 100
            "us-west/zone2/*": 0
`),
      code: "CREMA_VALIDATION_RANGE",
      path: 'spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to["us-west/zone2/*"]',
      line: 14,
      column: 32,
    },
    {
      name: "overlapping distribute sources",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        distribute:
        - from: us-west/*
          to: {"us-west/*": 100}
        - from: us-west/zone1/*
          to: {"us-west/*": 100}
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute",
      line: 11,
      column: 9,
    },
    {
      name: "a failover to the same region",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 5}
    loadBalancer:
      localityLbSetting:
        failover:
        - from: us-east
          to: us-east
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]",
      line: 12,
      column: 11,
    },
    {
      name: "a failover naming a zone",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 5}
    loadBalancer:
      localityLbSetting:
        failover:
        - from: us-east/zone1
          to: us-west
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]",
      line: 12,
      column: 11,
    },
    {
      name: "failover with a topology label in failoverPriority",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 5}
    loadBalancer:
      localityLbSetting:
        failover:
        - from: us-east
          to: us-west
        failoverPriority:
        - topology.kubernetes.io/region
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority[0]",
      line: 15,
      column: 11,
    },
    {
      name: "failover without outlier detection",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        failover:
        - from: us-east
          to: us-west
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.trafficPolicy.loadBalancer.localityLbSetting",
      line: 10,
      column: 9,
      severity: "warning",
    },
    {
      name: "the deprecated warmupDurationSecs",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
      warmupDurationSecs: 60s
`),
      code: "CREMA_VALIDATION_DEPRECATED",
      path: "spec.trafficPolicy.loadBalancer.warmupDurationSecs",
      line: 10,
      column: 27,
      severity: "warning",
    },
  ]);
});

describe("DestinationRule semantics: connection pool and outlier detection", () => {
  invalidCases([
    {
      name: "a connection pool with neither tcp nor http",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    connectionPool: {}
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.trafficPolicy.connectionPool",
      line: 8,
      column: 21,
    },
    {
      name: "a negative maxConnections",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: -1
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.trafficPolicy.connectionPool.tcp.maxConnections",
      line: 10,
      column: 25,
    },
    {
      name: "a zero connect timeout",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp:
        connectTimeout: 0s
`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.trafficPolicy.connectionPool.tcp.connectTimeout",
      line: 10,
      column: 25,
    },
    {
      name: "a zero http idle timeout (only tcp.idleTimeout may be 0s)",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    connectionPool:
      http:
        idleTimeout: 0s
`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.trafficPolicy.connectionPool.http.idleTimeout",
      line: 10,
      column: 22,
    },
    {
      name: "a keepalive interval finer than a millisecond",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp:
        tcpKeepalive:
          interval: 500us
`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.interval",
      line: 11,
      column: 21,
    },
    {
      name: "a negative http2MaxRequests",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    connectionPool:
      http:
        http2MaxRequests: -5
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.trafficPolicy.connectionPool.http.http2MaxRequests",
      line: 10,
      column: 27,
    },
    {
      name: "useClientProtocol with h2UpgradePolicy UPGRADE",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    connectionPool:
      http:
        h2UpgradePolicy: UPGRADE
        useClientProtocol: true
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.trafficPolicy.connectionPool.http.useClientProtocol",
      line: 11,
      column: 28,
    },
    {
      name: "a baseEjectionTime that is not a duration",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    outlierDetection:
      baseEjectionTime: "30"
`),
      code: "CREMA_VALIDATION_DURATION",
      path: "spec.trafficPolicy.outlierDetection.baseEjectionTime",
      line: 9,
      column: 25,
    },
    {
      name: "maxEjectionPercent over 100",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    outlierDetection:
      maxEjectionPercent: 150
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.trafficPolicy.outlierDetection.maxEjectionPercent",
      line: 9,
      column: 27,
    },
    {
      name: "a negative minHealthPercent",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    outlierDetection:
      minHealthPercent: -1
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.trafficPolicy.outlierDetection.minHealthPercent",
      line: 9,
      column: 25,
    },
    {
      name: "a negative consecutive5xxErrors",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: -1
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.trafficPolicy.outlierDetection.consecutive5xxErrors",
      line: 9,
      column: 29,
    },
    {
      name: "the deprecated consecutiveErrors",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    outlierDetection:
      consecutiveErrors: 5
`),
      code: "CREMA_VALIDATION_DEPRECATED",
      path: "spec.trafficPolicy.outlierDetection.consecutiveErrors",
      line: 9,
      column: 26,
      severity: "warning",
    },
    {
      name: "local-origin failures without splitting local-origin errors",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    outlierDetection:
      consecutiveLocalOriginFailures: 3
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures",
      line: 9,
      column: 39,
    },
  ]);
});

describe("DestinationRule semantics: TLS and tunnel", () => {
  invalidCases([
    {
      name: "MUTUAL TLS without a client certificate",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    tls:
      mode: MUTUAL
      privateKey: /etc/certs/key.pem
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.trafficPolicy.tls",
      line: 9,
      column: 7,
    },
    {
      name: "credentialName together with certificate files",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    tls:
      mode: SIMPLE
      credentialName: reviews-ca
      caCertificates: /etc/certs/ca.pem
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.trafficPolicy.tls.caCertificates",
      line: 11,
      column: 23,
    },
    {
      name: "insecureSkipVerify with a CA bundle",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    tls:
      mode: SIMPLE
      caCertificates: /etc/certs/ca.pem
      insecureSkipVerify: true
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.trafficPolicy.tls.insecureSkipVerify",
      line: 11,
      column: 27,
    },
    {
      name: "an unknown tunnel protocol",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    tunnel:
      protocol: GET
      targetHost: gw.example.com
      targetPort: 15009
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.trafficPolicy.tunnel.protocol",
      line: 9,
      column: 17,
    },
    {
      name: "a tunnel target that is neither a DNS name nor an IP",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    tunnel:
      targetHost: gw_1.example.com
      targetPort: 15009
`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.trafficPolicy.tunnel.targetHost",
      line: 9,
      column: 19,
    },
    {
      name: "a tunnel target port of 0",
      yaml: dr(`
  host: reviews
  trafficPolicy:
    tunnel:
      targetHost: gw.example.com
      targetPort: 0
`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.trafficPolicy.tunnel.targetPort",
      line: 10,
      column: 19,
    },
  ]);
});

describe("DestinationRule semantics: reporting", () => {
  it("checks port-level settings like top-level ones", () => {
    const { diagnostics } = validateYaml(
      dr(`
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - port: {number: 80}
      outlierDetection:
        interval: 0s
      tls:
        mode: MUTUAL
        credentialName: c
        privateKey: /k.pem
`),
    );
    expect(diagnostics.map((d) => [d.code, d.path])).toEqual([
      [
        "CREMA_VALIDATION_DURATION",
        "spec.trafficPolicy.portLevelSettings[0].outlierDetection.interval",
      ],
      ["CREMA_VALIDATION_EXCLUSIVE", "spec.trafficPolicy.portLevelSettings[0].tls.privateKey"],
    ]);
  });
});
