// EnvoyFilter semantic validation: a clean filter inserting an HTTP filter (and more), and a table of invalid cases.
import { describe, it } from "vitest";
import { expectClean, invalidCases } from "../testing.ts";

/** An EnvoyFilter whose first config patch starts on line 7; `rest` follows the patches. */
const ef = (patches: string, rest = "") => `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: ef
spec:
  configPatches:
${patches}${rest}`;

const LUA = `      value:
        name: envoy.filters.http.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          inlineCode: "function envoy_on_request(h) end"
`;

describe("EnvoyFilter semantics", () => {
  it("accepts an HTTP filter insertion and other well-formed patches", () => {
    expectClean(`apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: reviews-lua
  namespace: bookinfo
spec:
  workloadSelector:
    labels:
      app: reviews
  priority: 10
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      proxy:
        proxyVersion: '^1\\.2[0-9].*'
      listener:
        portNumber: 8080
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter:
              name: envoy.filters.http.router
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          inlineCode: |
            function envoy_on_request(request_handle)
              request_handle:headers():add("x-lua", "1")
            end
  - applyTo: CLUSTER
    match:
      context: SIDECAR_OUTBOUND
      cluster:
        service: reviews.bookinfo.svc.cluster.local
    patch:
      operation: MERGE
      value:
        connect_timeout: 2s
  - applyTo: CLUSTER
    patch:
      operation: ADD
      value:
        name: lua_cluster
        type: STRICT_DNS
        connect_timeout: 0.5s
  - applyTo: LISTENER_FILTER
    match:
      context: GATEWAY
    patch:
      operation: INSERT_FIRST
      value:
        name: envoy.filters.listener.proxy_protocol
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol
  - applyTo: ROUTE_CONFIGURATION
    match:
      context: GATEWAY
      routeConfiguration:
        portNumber: 443
        gateway: istio-system/public-gw
    patch:
      operation: MERGE
      value:
        request_headers_to_remove: [x-debug]
  - applyTo: HTTP_FILTER
    match:
      context: WAYPOINT
      waypoint:
        portNumber: 8080
        filter:
          name: envoy.filters.network.http_connection_manager
    patch:
      operation: REMOVE
`);
  });
});

describe("EnvoyFilter invalid cases", () => {
  invalidCases([
    {
      name: "patch without applyTo",
      yaml: ef("  - patch:\n      operation: MERGE\n      value:\n        a: 1\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.configPatches[0].applyTo",
      line: 7,
      column: 5,
    },
    {
      name: "config patch without patch",
      yaml: ef("  - applyTo: CLUSTER\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.configPatches[0].patch",
      line: 7,
      column: 5,
    },
    {
      name: "patch without operation",
      yaml: ef("  - applyTo: CLUSTER\n    patch:\n      value:\n        name: x\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.configPatches[0].patch.operation",
      line: 9,
      column: 7,
    },
    {
      name: "ADD without a value",
      yaml: ef("  - applyTo: CLUSTER\n    patch:\n      operation: ADD\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.configPatches[0].patch.value",
      line: 9,
      column: 7,
    },
    {
      name: "CLUSTER patch with a listener match",
      yaml: ef(`  - applyTo: CLUSTER
    match:
      listener:
        portNumber: 80
    patch:
      operation: MERGE
      value:
        connect_timeout: 1s
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.configPatches[0].match.listener",
      line: 10,
      column: 9,
    },
    {
      name: "HTTP_FILTER patch with a cluster match",
      yaml: ef(`  - applyTo: HTTP_FILTER
    match:
      cluster:
        service: a.example.com
    patch:
      operation: ADD
${LUA}`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.configPatches[0].match.cluster",
      line: 10,
      column: 9,
    },
    {
      name: "filter match without a name",
      yaml: ef(`  - applyTo: NETWORK_FILTER
    match:
      listener:
        filterChain:
          filter: {}
    patch:
      operation: REMOVE
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.configPatches[0].match.listener.filterChain.filter.name",
      line: 11,
      column: 19,
    },
    {
      name: "subFilter match on a NETWORK_FILTER patch",
      yaml: ef(`  - applyTo: NETWORK_FILTER
    match:
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter:
              name: envoy.filters.http.router
    patch:
      operation: REMOVE
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.configPatches[0].match.listener.filterChain.filter.subFilter",
      line: 14,
      column: 15,
    },
    {
      name: "subFilter match under a filter other than the HTTP connection manager",
      yaml: ef(`  - applyTo: HTTP_FILTER
    match:
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.tcp_proxy
            subFilter:
              name: envoy.filters.http.router
    patch:
      operation: REMOVE
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.configPatches[0].match.listener.filterChain.filter.name",
      line: 12,
      column: 19,
    },
    {
      name: "proxyVersion that is not a valid regex",
      yaml: ef(`  - applyTo: CLUSTER
    match:
      proxy:
        proxyVersion: "^1\\\\.2("
    patch:
      operation: MERGE
      value:
        connect_timeout: 1s
`),
      code: "CREMA_VALIDATION_REGEX",
      path: "spec.configPatches[0].match.proxy.proxyVersion",
      line: 10,
      column: 23,
    },
    {
      name: "waypoint match outside the WAYPOINT context",
      yaml: ef(`  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      waypoint:
        portNumber: 8080
    patch:
      operation: REMOVE
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.configPatches[0].match.waypoint",
      line: 11,
      column: 9,
    },
    {
      name: "WAYPOINT context with a listener match",
      yaml: ef(`  - applyTo: HTTP_FILTER
    match:
      context: WAYPOINT
      listener:
        portNumber: 8080
    patch:
      operation: REMOVE
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.configPatches[0].match.listener",
      line: 11,
      column: 9,
    },
    {
      name: "waypoint port out of range",
      yaml: ef(`  - applyTo: HTTP_FILTER
    match:
      context: WAYPOINT
      waypoint:
        portNumber: 65536
    patch:
      operation: REMOVE
`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.configPatches[0].match.waypoint.portNumber",
      line: 11,
      column: 21,
    },
    {
      name: "Envoy v2 type URL",
      yaml: ef(`  - applyTo: HTTP_FILTER
    patch:
      operation: ADD
      value:
        name: envoy.lua
        typed_config:
          "@type": type.googleapis.com/envoy.config.filter.http.lua.v2.Lua
`),
      code: "CREMA_VALIDATION_INVALID",
      path: 'spec.configPatches[0].patch.value.typed_config["@type"]',
      line: 13,
      column: 20,
    },
    {
      name: "workloadSelector together with targetRefs",
      yaml: ef(
        "  - applyTo: CLUSTER\n    patch:\n      operation: MERGE\n      value:\n        connect_timeout: 1s\n",
        `  workloadSelector:
    labels:
      app: a
  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: waypoint
`,
      ),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.targetRefs",
      line: 16,
      column: 3,
    },
    {
      name: "INSERT_BEFORE without priority (warning)",
      yaml: ef(`  - applyTo: HTTP_FILTER
    patch:
      operation: INSERT_BEFORE
${LUA}`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.configPatches[0].patch.operation",
      line: 9,
      column: 18,
      severity: "warning",
    },
    {
      name: "ADD on ROUTE_CONFIGURATION is ignored (warning)",
      yaml: ef(`  - applyTo: ROUTE_CONFIGURATION
    patch:
      operation: ADD
      value:
        name: extra
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.configPatches[0].patch.operation",
      line: 9,
      column: 18,
      severity: "warning",
    },
    {
      name: "deprecated filter name in a match (warning)",
      yaml: ef(`  - applyTo: HTTP_FILTER
    match:
      listener:
        filterChain:
          filter:
            name: envoy.http_connection_manager
    patch:
      operation: ADD
${LUA}`),
      code: "CREMA_VALIDATION_DEPRECATED",
      path: "spec.configPatches[0].match.listener.filterChain.filter.name",
      line: 12,
      column: 19,
      severity: "warning",
    },
    {
      name: "HTTP filter without typed_config (warning)",
      yaml: ef(`  - applyTo: HTTP_FILTER
    patch:
      operation: ADD
      value:
        name: envoy.filters.http.cors
`),
      code: "CREMA_VALIDATION_DEPRECATED",
      path: "spec.configPatches[0].patch.value",
      line: 11,
      column: 9,
      severity: "warning",
    },
  ]);
});
