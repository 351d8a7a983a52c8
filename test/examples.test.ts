// The demo configuration under examples/ must be exactly what we tell users it is: it loads
// and validates with no finding at all, it shows every Istio feature the coffee-shop
// walkthrough promises, and every name it refers to (gateway, host, subset, selector,
// service account, secret) exists in it.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeResources } from "../src/config/analysis/index.ts";
import type { Diagnostic } from "../src/config/diagnostic.ts";
import type { Resource } from "../src/config/resource.ts";
import { readSources } from "../src/config/source-file.ts";
import { validateSources } from "../src/config/validate.ts";

const EXAMPLES = new URL("../examples", import.meta.url).pathname;

// Each example folder's own files, as `crema up examples/coffee-shop` reads them.
const read = await readSources(
  readdirSync(EXAMPLES).map((example) => join(EXAMPLES, example)),
  () => Promise.reject(new Error("no stdin here")),
  { recursive: false },
);
const validated = validateSources(read.files);
const resources = validated.resources;
// Level 3, across resources, as `crema analyze examples/coffee-shop` runs it.
const analyzed = analyzeResources(resources);

/**
 * Findings that are bugs in crema, not in the examples (never bend an example to silence a
 * false positive: list it here, naming the bug). The test ignores matching diagnostics and
 * fails once an entry no longer matches anything, so the list shrinks as bugs are fixed.
 */
const KNOWN_VALIDATOR_BUGS: ReadonlyArray<{ bug: string; matches: (d: Diagnostic) => boolean }> =
  [];

function describeDiagnostic(d: Diagnostic): string {
  const where = d.position
    ? `${d.position.file.slice(EXAMPLES.length + 1)}:${d.position.line}`
    : "";
  return `${d.severity} ${d.code} ${where} ${d.path ?? ""}: ${d.message}`;
}

// --- small readers over untyped YAML values

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : {};
}

function list(value: unknown): Obj[] {
  return Array.isArray(value) ? value.map(obj) : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function labels(value: unknown): Record<string, string> {
  return Object.fromEntries(
    Object.entries(obj(value)).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
}

function ofKind(kind: string): Resource[] {
  return resources.filter((r) => r.kind === kind);
}

function some(kind: string, predicate: (spec: Obj, r: Resource) => boolean): boolean {
  return ofKind(kind).some((r) => predicate(r.spec, r));
}

function httpRules(spec: Obj): Obj[] {
  return list(spec.http);
}

function selects(selector: Record<string, string>, target: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => target[k] === v);
}

// --- the registry the examples define

const FQDN_SUFFIX = ".svc.cluster.local";

/** Pod-like workloads: Deployment pod templates, WorkloadEntries and WorkloadGroups. */
const workloads = resources.flatMap((r) => {
  if (r.kind === "Deployment")
    return [{ r, labels: labels(obj(obj(r.spec.template).metadata).labels) }];
  if (r.kind === "WorkloadEntry") return [{ r, labels: labels(r.spec.labels) }];
  if (r.kind === "WorkloadGroup") return [{ r, labels: labels(obj(r.spec.metadata).labels) }];
  return [];
});

function workloadsSelected(namespace: string | undefined, selector: Record<string, string>) {
  return workloads.filter(
    (w) => (namespace === undefined || w.r.namespace === namespace) && selects(selector, w.labels),
  );
}

const serviceHosts = new Map<string, Resource>(
  ofKind("Service").map((s) => [`${s.name}.${s.namespace}${FQDN_SUFFIX}`, s]),
);
const serviceEntryHosts = new Set(ofKind("ServiceEntry").flatMap((se) => strings(se.spec.hosts)));

/** A host as Istio reads it in a resource of `namespace`: short names are namespace-local. */
function qualify(host: string, namespace: string): string {
  return host.includes(".") ? host : `${host}.${namespace}${FQDN_SUFFIX}`;
}

function hostExists(host: string): boolean {
  return serviceHosts.has(host) || serviceEntryHosts.has(host);
}

function subsetsOf(host: string): Set<string> {
  return new Set(
    ofKind("DestinationRule")
      .filter((dr) => qualify(String(dr.spec.host), dr.namespace) === host)
      .flatMap((dr) => list(dr.spec.subsets).map((subset) => String(subset.name))),
  );
}

function serviceAccountExists(namespace: string, name: string): boolean {
  return ofKind("ServiceAccount").some((sa) => sa.namespace === namespace && sa.name === name);
}

/** Every `destination` a VirtualService sends to (routes and mirrors). */
function destinations(spec: Obj): Obj[] {
  return [...httpRules(spec), ...list(spec.tls), ...list(spec.tcp)].flatMap((rule) => [
    ...list(rule.route).map((d) => obj(d.destination)),
    ...(rule.mirror ? [obj(rule.mirror)] : []),
  ]);
}

/** The workload selector of any kind that has one (field names differ per kind). */
function selectorOf(r: Resource): Record<string, string> | undefined {
  const spec = r.spec;
  if (r.kind === "Gateway") return labels(spec.selector);
  if (["Sidecar", "EnvoyFilter", "ServiceEntry"].includes(r.kind))
    return spec.workloadSelector ? labels(obj(spec.workloadSelector).labels) : undefined;
  if (
    [
      "PeerAuthentication",
      "RequestAuthentication",
      "AuthorizationPolicy",
      "WasmPlugin",
      "Telemetry",
      "ProxyConfig",
    ].includes(r.kind)
  )
    return spec.selector ? labels(obj(spec.selector).matchLabels) : undefined;
  return undefined;
}

describe("examples/", () => {
  it("reads every file", () => {
    expect(read.diagnostics.map(describeDiagnostic)).toEqual([]);
    expect(read.files.length).toBeGreaterThanOrEqual(10);
  });

  it("validates with no errors and no warnings", () => {
    const unexpected = validated.diagnostics.filter(
      (d) => !KNOWN_VALIDATOR_BUGS.some((known) => known.matches(d)),
    );
    expect(unexpected.map(describeDiagnostic)).toEqual([]);
  });

  it("analyzes with no findings at all", () => {
    const unexpected = analyzed.filter(
      (d) => !KNOWN_VALIDATOR_BUGS.some((known) => known.matches(d)),
    );
    expect(unexpected.map(describeDiagnostic)).toEqual([]);
  });

  it("still needs every KNOWN_VALIDATOR_BUGS entry (delete entries for fixed bugs)", () => {
    const all = [...validated.diagnostics, ...analyzed];
    const fixed = KNOWN_VALIDATOR_BUGS.filter((known) => !all.some((d) => known.matches(d)));
    expect(fixed.map((known) => known.bug)).toEqual([]);
  });

  it.each([
    "Namespace",
    "ServiceAccount",
    "Deployment",
    "Service",
    "Secret",
    "Gateway",
    "VirtualService",
    "DestinationRule",
    "ServiceEntry",
    "PeerAuthentication",
    "RequestAuthentication",
    "AuthorizationPolicy",
    "Sidecar",
    "WorkloadGroup",
    "WorkloadEntry",
    "WasmPlugin",
    "EnvoyFilter",
    "Telemetry",
    "ProxyConfig",
  ])("has a %s", (kind) => {
    expect(ofKind(kind).length).toBeGreaterThan(0);
  });

  const FEATURES: ReadonlyArray<[string, () => boolean]> = [
    [
      "the coffee-shop namespace with sidecar injection",
      () =>
        resources.some(
          (r) =>
            r.kind === "Namespace" &&
            r.name === "coffee-shop" &&
            r.labels["istio-injection"] === "enabled",
        ),
    ],
    [
      "the ingress gateway workload as Istio installs it",
      () =>
        workloadsSelected("istio-system", {
          istio: "ingressgateway",
          app: "istio-ingressgateway",
        }).length > 0 &&
        some(
          "Service",
          (spec, r) =>
            r.namespace === "istio-system" &&
            list(spec.ports).some((p) => p.port === 80 && p.targetPort === 8080) &&
            list(spec.ports).some((p) => p.port === 443 && p.targetPort === 8443),
        ),
    ],
    [
      "weighted routing (customer-service v1 90 / v2 10)",
      () =>
        some("VirtualService", (spec) =>
          httpRules(spec).some(
            (rule) =>
              JSON.stringify(list(rule.route).map((d) => [obj(d.destination).subset, d.weight])) ===
              JSON.stringify([
                ["v1", 90],
                ["v2", 10],
              ]),
          ),
        ),
    ],
    [
      "AND matching (two conditions in one match entry)",
      () =>
        some("VirtualService", (spec) =>
          httpRules(spec).some((rule) => list(rule.match).some((m) => Object.keys(m).length >= 2)),
        ),
    ],
    [
      "OR matching (two match entries)",
      () =>
        some("VirtualService", (spec) =>
          httpRules(spec).some((rule) => list(rule.match).length >= 2),
        ),
    ],
    [
      "header and uri matches",
      () =>
        some("VirtualService", (spec) =>
          httpRules(spec).some((rule) => list(rule.match).some((m) => m.headers && m.uri)),
        ),
    ],
    ["redirect", () => some("VirtualService", (spec) => httpRules(spec).some((r) => r.redirect))],
    ["rewrite", () => some("VirtualService", (spec) => httpRules(spec).some((r) => r.rewrite))],
    [
      "mirroring with mirrorPercentage",
      () =>
        some("VirtualService", (spec) =>
          httpRules(spec).some((r) => r.mirror && r.mirrorPercentage),
        ),
    ],
    [
      "request header set, add and remove; response headers",
      () =>
        some("VirtualService", (spec) =>
          httpRules(spec).some((rule) => {
            const request = obj(obj(rule.headers).request);
            const routeResponse = list(rule.route).some((d) => obj(d.headers).response);
            return Boolean(request.set && request.add && request.remove && routeResponse);
          }),
        ),
    ],
    ["timeouts", () => some("VirtualService", (spec) => httpRules(spec).some((r) => r.timeout))],
    [
      "retries with attempts, perTryTimeout and retryOn",
      () =>
        some("VirtualService", (spec) =>
          httpRules(spec).some((r) => {
            const retries = obj(r.retries);
            return Boolean(retries.attempts && retries.perTryTimeout && retries.retryOn);
          }),
        ),
    ],
    [
      "fault injection: delay and abort with percentages",
      () =>
        some("VirtualService", (spec) =>
          httpRules(spec).some((r) => {
            const fault = obj(r.fault);
            return Boolean(obj(fault.delay).percentage && obj(fault.abort).percentage);
          }),
        ),
    ],
    ["subsets", () => some("DestinationRule", (spec) => list(spec.subsets).length >= 2)],
    [
      "outlier detection",
      () => some("DestinationRule", (spec) => Boolean(obj(spec.trafficPolicy).outlierDetection)),
    ],
    [
      "connection pool limits",
      () => some("DestinationRule", (spec) => Boolean(obj(spec.trafficPolicy).connectionPool)),
    ],
    [
      "locality load balancing",
      () =>
        some("DestinationRule", (spec) =>
          Boolean(obj(obj(spec.trafficPolicy).loadBalancer).localityLbSetting),
        ),
    ],
    [
      "consistent hash load balancing",
      () =>
        some("DestinationRule", (spec) =>
          Boolean(obj(obj(spec.trafficPolicy).loadBalancer).consistentHash),
        ),
    ],
    [
      "a DNS ServiceEntry for the external payment API on 443/TLS",
      () =>
        some(
          "ServiceEntry",
          (spec) =>
            strings(spec.hosts).includes("api.payments.example.com") &&
            spec.resolution === "DNS" &&
            list(spec.ports).some((p) => p.number === 443 && p.protocol === "TLS"),
        ),
    ],
    [
      "a STATIC ServiceEntry with endpoint addresses",
      () =>
        some(
          "ServiceEntry",
          (spec) =>
            spec.resolution === "STATIC" && list(spec.endpoints).some((e) => Boolean(e.address)),
        ),
    ],
    [
      "a Gateway serving HTTP on 80 and HTTPS on 443 with credentialName coffee-cert",
      () =>
        some("Gateway", (spec) => {
          const servers = list(spec.servers);
          return (
            servers.some((s) => obj(s.port).number === 80 && obj(s.port).protocol === "HTTP") &&
            servers.some(
              (s) =>
                obj(s.port).number === 443 &&
                obj(s.port).protocol === "HTTPS" &&
                obj(s.tls).credentialName === "coffee-cert",
            )
          );
        }),
    ],
    [
      "namespace-wide STRICT mTLS",
      () =>
        some(
          "PeerAuthentication",
          (spec, r) =>
            r.namespace === "coffee-shop" && !spec.selector && obj(spec.mtls).mode === "STRICT",
        ),
    ],
    [
      "a port-level mTLS exception",
      () => some("PeerAuthentication", (spec) => Boolean(spec.portLevelMtls)),
    ],
    [
      "JWT authentication with issuer and jwksUri",
      () =>
        some("RequestAuthentication", (spec) =>
          list(spec.jwtRules).some((rule) => rule.issuer && rule.jwksUri),
        ),
    ],
    [
      "ALLOW from order-service's identity to POST /pay on payment-service",
      () =>
        some("AuthorizationPolicy", (spec) => {
          const rules = JSON.stringify(spec.rules);
          return (
            (spec.action ?? "ALLOW") === "ALLOW" &&
            labels(obj(spec.selector).matchLabels).app === "payment-service" &&
            rules.includes('"cluster.local/ns/coffee-shop/sa/order-service"') &&
            rules.includes('"POST"') &&
            rules.includes('"/pay"')
          );
        }),
    ],
    ["a DENY policy", () => some("AuthorizationPolicy", (spec) => spec.action === "DENY")],
    [
      "a policy requiring requestPrincipals",
      () =>
        some("AuthorizationPolicy", (spec) =>
          list(spec.rules).some((rule) =>
            list(rule.from).some((f) => strings(obj(f.source).requestPrincipals).length > 0),
          ),
        ),
    ],
    [
      "a Sidecar limiting egress to ./* and istio-system/*",
      () =>
        some("Sidecar", (spec) =>
          list(spec.egress).some((e) => {
            const hosts = strings(e.hosts);
            return hosts.includes("./*") && hosts.includes("istio-system/*");
          }),
        ),
    ],
    [
      "barista-service as a VM: WorkloadGroup, WorkloadEntry and a selecting ServiceEntry",
      () =>
        some(
          "WorkloadGroup",
          (spec) => labels(obj(spec.metadata).labels).app === "barista-service",
        ) &&
        some("WorkloadEntry", (spec) => labels(spec.labels).app === "barista-service") &&
        some(
          "ServiceEntry",
          (spec) => labels(obj(spec.workloadSelector).labels).app === "barista-service",
        ),
    ],
    [
      "a WasmPlugin from an OCI registry",
      () => some("WasmPlugin", (spec) => String(spec.url).startsWith("oci://")),
    ],
    [
      "trace sampling in Telemetry",
      () =>
        some("Telemetry", (spec) =>
          list(spec.tracing).some((t) => typeof t.randomSamplingPercentage === "number"),
        ),
    ],
  ];

  it.each(FEATURES)("demonstrates %s", (_feature, present) => {
    expect(present()).toBe(true);
  });

  it("puts every namespaced resource in a namespace it defines", () => {
    const namespaces = new Set(ofKind("Namespace").map((n) => n.name));
    const orphans = resources
      .filter((r) => r.namespace !== "" && !namespaces.has(r.namespace))
      .map((r) => `${r.kind} ${r.namespace}/${r.name}`);
    expect(orphans).toEqual([]);
  });

  it("gives every Deployment app and version labels, a service account and a command", () => {
    const problems = ofKind("Deployment").flatMap((d) => {
      const template = obj(d.spec.template);
      const podLabels = labels(obj(template.metadata).labels);
      const pod = obj(template.spec);
      const account = String(pod.serviceAccountName ?? "");
      const out: string[] = [];
      if (!podLabels.app) out.push(`${d.name}: no app label`);
      if (!podLabels.version && d.namespace === "coffee-shop") out.push(`${d.name}: no version`);
      if (!serviceAccountExists(d.namespace, account))
        out.push(`${d.name}: service account ${JSON.stringify(account)} is not defined`);
      if (!selects(labels(obj(d.spec.selector).matchLabels), podLabels))
        out.push(`${d.name}: selector does not match its own pod template`);
      // The shop's services are the demo's apps (apps/<name>.ts, run by Node in the folder of
      // the manifest), which report their version.
      if (d.namespace === "coffee-shop" && podLabels.app !== "sleep") {
        const containers = list(pod.containers);
        const env = list(containers[0]?.env);
        const version = env.find((e) => e.name === "SERVICE_VERSION")?.value;
        const [program, app, ...rest] = strings(containers[0]?.command);
        const appFile = app && d.source ? join(dirname(d.source.file), app) : "";
        if (
          containers.length !== 1 ||
          program !== "node" ||
          rest.length > 0 ||
          !/^apps\/[a-z-]+\.ts$/.test(app ?? "") ||
          !existsSync(appFile)
        )
          out.push(`${d.name}: not one container running node apps/<an app that exists>.ts`);
        if (version !== podLabels.version)
          out.push(`${d.name}: SERVICE_VERSION ${String(version)} is not its version label`);
      }
      return out;
    });
    expect(problems).toEqual([]);
  });

  it("selects at least one pod with every Service", () => {
    const empty = ofKind("Service")
      .filter((s) => workloadsSelected(s.namespace, labels(s.spec.selector)).length === 0)
      .map((s) => `${s.namespace}/${s.name}`);
    expect(empty).toEqual([]);
  });

  it("selects at least one workload with every selector", () => {
    const empty = resources.flatMap((r) => {
      const selector = selectorOf(r);
      if (selector === undefined) return [];
      // Gateways select their proxies in any namespace; everything else in its own.
      const scope = r.kind === "Gateway" ? undefined : r.namespace;
      return workloadsSelected(scope, selector).length === 0
        ? [`${r.kind} ${r.namespace}/${r.name}`]
        : [];
    });
    expect(empty).toEqual([]);
  });

  it("routes only to hosts and subsets that exist", () => {
    const problems: string[] = [];
    for (const vs of ofKind("VirtualService")) {
      for (const destination of destinations(vs.spec)) {
        const host = qualify(String(destination.host), vs.namespace);
        if (!hostExists(host)) problems.push(`${vs.name}: unknown host ${host}`);
        const subset = destination.subset;
        if (typeof subset === "string" && !subsetsOf(host).has(subset))
          problems.push(`${vs.name}: no DestinationRule defines subset ${subset} of ${host}`);
      }
    }
    for (const dr of ofKind("DestinationRule")) {
      const host = qualify(String(dr.spec.host), dr.namespace);
      const service = serviceHosts.get(host);
      if (!hostExists(host)) problems.push(`DestinationRule ${dr.name}: unknown host ${host}`);
      for (const subset of list(dr.spec.subsets)) {
        const selector = { ...labels(service?.spec.selector), ...labels(subset.labels) };
        if (workloadsSelected(dr.namespace, selector).length === 0)
          problems.push(`DestinationRule ${dr.name}: subset ${String(subset.name)} has no pods`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("binds gateway routes to existing Gateways, for hosts those Gateways serve", () => {
    const problems: string[] = [];
    for (const vs of ofKind("VirtualService")) {
      for (const ref of strings(vs.spec.gateways)) {
        if (ref === "mesh") continue;
        const [namespace, name] = ref.includes("/") ? ref.split("/") : [vs.namespace, ref];
        const gateway = ofKind("Gateway").find((g) => g.namespace === namespace && g.name === name);
        if (!gateway) {
          problems.push(`${vs.name}: no Gateway ${namespace}/${name}`);
          continue;
        }
        const served = list(gateway.spec.servers).flatMap((s) =>
          strings(s.hosts).map((h) => h.slice(h.indexOf("/") + 1)),
        );
        for (const host of strings(vs.spec.hosts)) {
          if (!served.includes(host) && !served.includes("*"))
            problems.push(`${vs.name}: host ${host} is not served by Gateway ${ref}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("keeps each Gateway's TLS secret beside the gateway workload it selects", () => {
    const problems: string[] = [];
    for (const gateway of ofKind("Gateway")) {
      const namespaces = new Set(
        workloadsSelected(undefined, labels(gateway.spec.selector)).map((w) => w.r.namespace),
      );
      for (const server of list(gateway.spec.servers)) {
        const secret = obj(server.tls).credentialName;
        if (typeof secret !== "string") continue;
        for (const namespace of namespaces) {
          const found = ofKind("Secret").some(
            (s) =>
              s.namespace === namespace && s.name === secret && s.body.type === "kubernetes.io/tls",
          );
          if (!found) problems.push(`${gateway.name}: no TLS Secret ${namespace}/${secret}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("names only service accounts that exist (policies, VMs)", () => {
    const problems: string[] = [];
    for (const policy of ofKind("AuthorizationPolicy")) {
      for (const rule of list(policy.spec.rules)) {
        for (const from of list(rule.from)) {
          for (const principal of strings(obj(from.source).principals)) {
            const match = /^cluster\.local\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
            if (!match || !serviceAccountExists(match[1]!, match[2]!))
              problems.push(`${policy.name}: principal ${principal} is no known service account`);
          }
        }
      }
    }
    for (const r of [...ofKind("WorkloadEntry"), ...ofKind("WorkloadGroup")]) {
      const account =
        r.kind === "WorkloadEntry" ? r.spec.serviceAccount : obj(r.spec.template).serviceAccount;
      if (!serviceAccountExists(r.namespace, String(account)))
        problems.push(`${r.kind} ${r.name}: service account ${String(account)} is not defined`);
    }
    expect(problems).toEqual([]);
  });

  it("lets Sidecars reach only namespaces and hosts that exist", () => {
    const namespaces = new Set(ofKind("Namespace").map((n) => n.name));
    const problems: string[] = [];
    for (const sidecar of ofKind("Sidecar")) {
      for (const egress of list(sidecar.spec.egress)) {
        for (const entry of strings(egress.hosts)) {
          const [namespace = "", host = ""] = entry.split("/");
          const ns = namespace === "." ? sidecar.namespace : namespace;
          if (ns !== "*" && !namespaces.has(ns)) problems.push(`${entry}: no namespace ${ns}`);
          if (host !== "*" && !hostExists(host)) problems.push(`${entry}: no host ${host}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

// The traffic experiments: each file replaces resources of the running demo (same kind,
// namespace and name), so it must load cleanly on top of it. Reading examples/coffee-shop
// the way `crema up` and `crema validate` do (its files, not its folders) leaves it out.
describe("examples/coffee-shop/traffic/", () => {
  const DEMO = join(EXAMPLES, "coffee-shop");
  const TRAFFIC = join(DEMO, "traffic");
  const files = readdirSync(TRAFFIC)
    .filter((f) => f.endsWith(".yaml"))
    .sort();
  const guide = readFileSync(join(TRAFFIC, "README.md"), "utf8");

  it("stays out of the demo as the tools read it", () => {
    expect(read.files.some((f) => f.path.includes("/traffic/"))).toBe(false);
    expect(files.length).toBeGreaterThanOrEqual(16);
  });

  it.each(files)(
    "%s replaces demo resources and layers over the demo with no finding",
    async (file) => {
      const layered = await readSources(
        [DEMO, join(TRAFFIC, file)],
        () => Promise.reject(new Error("no stdin here")),
        { recursive: false },
      );
      const result = validateSources(layered.files);
      const own = result.resources.filter((r) => r.source?.file.endsWith(`/${file}`));
      expect(own.length).toBeGreaterThan(0);
      const findings = [
        ...layered.diagnostics,
        ...result.diagnostics,
        ...analyzeResources(result.resources),
      ];
      const replaced = findings.filter((d) => d.code === "CREMA_CONFIG_DUPLICATE_RESOURCE");
      expect(findings.filter((d) => !replaced.includes(d)).map(describeDiagnostic)).toEqual([]);
      expect(replaced.map((d) => d.resource)).toEqual(
        own.map((r) => ({ kind: r.kind, namespace: r.namespace, name: r.name })),
      );
    },
  );

  it.each(files)("%s is in the experiments' README", (file) => {
    expect(guide).toContain(`| \`${file}\` |`);
  });
});
