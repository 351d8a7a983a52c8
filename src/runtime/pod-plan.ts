// Deployments → the pods the local runtime runs: one plan per replica, with the containers'
// command lines, environment and ports, whether a sidecar is injected, and the readiness probe.
// Pure: the runtime compares plans with what runs and starts or stops the difference.

import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { parse as parseYaml } from "yaml";
import { compareStrings } from "../base/compare.ts";
import { stringMap } from "../config/analysis/labels.ts";
import type { Diagnostic } from "../config/diagnostic.ts";
import type { Resource } from "../config/resource.ts";
import { diagnosticAt } from "../config/validate.ts";
import { isObj, type Obj, objects } from "../config/validation/rules.ts";
import { sidecarInjected } from "../control-plane/model/workloads.ts";

/** An env var given by the pod's own fields (Kubernetes' downward API), resolved at start. */
export type FieldRef =
  | "metadata.name"
  | "metadata.namespace"
  | "status.podIP"
  | "spec.serviceAccountName";

export interface ContainerPlan {
  name: string;
  /** `command` + `args`, as Kubernetes joins them. */
  argv: string[];
  /** In declaration order; a FieldRef value is resolved when the pod starts. */
  env: Array<{ name: string; value: string } | { name: string; fieldRef: FieldRef }>;
  ports: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: { path: string; port: number };
}

export interface PodPlan {
  /** `<deployment>-<template hash>-<suffix>`, stable for one template and replica index. */
  name: string;
  namespace: string;
  deployment: string;
  templateHash: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  serviceAccount: string;
  containers: ContainerPlan[];
  sidecar: boolean;
  /** A standalone proxy (Istio's `gateway` injection template): the proxy is the pod. */
  gateway: boolean;
  /** Where the containers run: the folder of the manifest that declared the Deployment. */
  workingDir: string;
  /** The sidecar's threads (`crema proxy --concurrency`; 0: one per core). */
  proxyConcurrency: number;
}

export interface PodPlanResult {
  pods: PodPlan[];
  diagnostics: Diagnostic[];
}

const FIELD_REFS: readonly FieldRef[] = [
  "metadata.name",
  "metadata.namespace",
  "status.podIP",
  "spec.serviceAccountName",
];
/** Istio's per-pod ProxyConfig override (YAML or JSON); the runtime reads its `concurrency`. */
export const PROXY_CONFIG_ANNOTATION = "proxy.istio.io/config";
/**
 * The sidecar threads of a pod that does not say: Istio's sidecars default to 2, but a laptop
 * runs every pod's proxy on the same few cores, where a second thread per proxy costs start-up
 * time and memory and adds no throughput.
 */
export const LOCAL_RUNTIME_PROXY_CONCURRENCY = 1;

const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Kubernetes-looking name parts: 10 characters for the template, 5 for the replica. */
function nameChars(text: string, length: number): string {
  const digest = createHash("sha256").update(text).digest();
  let out = "";
  for (let i = 0; i < length; i++) out += SUFFIX_ALPHABET[digest[i]! % SUFFIX_ALPHABET.length];
  return out;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];

function isGatewayTemplate(annotations: Record<string, string>): boolean {
  return (annotations["inject.istio.io/templates"] ?? "")
    .split(",")
    .map((t) => t.trim())
    .includes("gateway");
}

interface PlanContext {
  deployment: Resource;
  diagnostics: Diagnostic[];
}

function error(ctx: PlanContext, path: Array<string | number>, message: string): void {
  ctx.diagnostics.push(
    diagnosticAt(ctx.deployment, path, "value", {
      code: "CREMA_RUNTIME_UNSUPPORTED_MANIFEST",
      severity: "error",
      message,
    }),
  );
}

/** `concurrency` of the pod's `proxy.istio.io/config`, the default without it; undefined (with
 * a diagnostic) when the annotation cannot be read. */
function proxyConfigConcurrency(
  ctx: PlanContext,
  annotations: Record<string, string>,
): number | undefined {
  const text = annotations[PROXY_CONFIG_ANNOTATION];
  if (text === undefined) return LOCAL_RUNTIME_PROXY_CONCURRENCY;
  const path = ["spec", "template", "metadata", "annotations", PROXY_CONFIG_ANNOTATION];
  let config: unknown;
  try {
    config = parseYaml(text);
  } catch (err) {
    error(
      ctx,
      path,
      `not a ProxyConfig in YAML or JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
    return undefined;
  }
  if (config === null || config === undefined) return LOCAL_RUNTIME_PROXY_CONCURRENCY;
  if (!isObj(config)) {
    error(ctx, path, "must be a ProxyConfig (a mapping such as 'concurrency: 2')");
    return undefined;
  }
  const concurrency = config.concurrency;
  if (concurrency === undefined) return LOCAL_RUNTIME_PROXY_CONCURRENCY;
  if (typeof concurrency !== "number" || !Number.isInteger(concurrency) || concurrency < 0) {
    error(
      ctx,
      path,
      `concurrency must be a whole number of threads (0: one per core), got ${JSON.stringify(concurrency)}`,
    );
    return undefined;
  }
  return concurrency;
}

function containerEnv(ctx: PlanContext, container: Obj, path: Array<string | number>) {
  const env: ContainerPlan["env"] = [];
  for (const [entry, i] of objects(container.env)) {
    const name = typeof entry.name === "string" ? entry.name : "";
    if (!name) continue;
    if (typeof entry.value === "string") {
      env.push({ name, value: entry.value });
      continue;
    }
    const fieldPath =
      isObj(entry.valueFrom) && isObj(entry.valueFrom.fieldRef)
        ? entry.valueFrom.fieldRef.fieldPath
        : undefined;
    if (FIELD_REFS.includes(fieldPath as FieldRef)) {
      env.push({ name, fieldRef: fieldPath as FieldRef });
    } else if (entry.valueFrom !== undefined) {
      error(
        ctx,
        [...path, "env", i, "valueFrom"],
        `env ${name}: the local runtime resolves only valueFrom.fieldRef ${FIELD_REFS.join(", ")}; give a literal value instead`,
      );
    } else {
      env.push({ name, value: "" });
    }
  }
  return env;
}

function readinessProbe(container: Obj, ports: ContainerPlan["ports"]) {
  const probe = isObj(container.readinessProbe) ? container.readinessProbe : undefined;
  const get = probe && isObj(probe.httpGet) ? probe.httpGet : undefined;
  if (!get) return undefined;
  const port =
    typeof get.port === "number" ? get.port : ports.find((p) => p.name === get.port)?.containerPort;
  if (port === undefined) return undefined;
  return { path: typeof get.path === "string" ? get.path : "/", port };
}

function planContainers(ctx: PlanContext, spec: Obj, gateway: boolean): ContainerPlan[] {
  const out: ContainerPlan[] = [];
  for (const [container, i] of objects(spec.containers)) {
    const path = ["spec", "template", "spec", "containers", i];
    const name = typeof container.name === "string" ? container.name : `container-${i}`;
    // The gateway template's `istio-proxy` placeholder is the proxy itself.
    if (gateway && name === "istio-proxy") continue;
    const argv = [...strings(container.command), ...strings(container.args)];
    if (strings(container.command).length === 0) {
      error(
        ctx,
        [...path, "command"],
        `container '${name}' has no command: the local runtime runs 'command' (and 'args') on this machine and ignores 'image'; add one, e.g. command: ["node", "server.js"]`,
      );
      continue;
    }
    const ports = objects(container.ports).flatMap(([p]) =>
      typeof p.containerPort === "number"
        ? [
            {
              ...(typeof p.name === "string" ? { name: p.name } : {}),
              containerPort: p.containerPort,
            },
          ]
        : [],
    );
    const probe = readinessProbe(container, ports);
    out.push({
      name,
      argv,
      env: containerEnv(ctx, container, path),
      ports,
      ...(probe ? { readinessProbe: probe } : {}),
    });
  }
  return out;
}

/** The pods every Deployment in `resources` asks for, and what the runtime cannot run. */
export function planPods(resources: readonly Resource[]): PodPlanResult {
  const namespaceLabels = new Map(
    resources.filter((r) => r.kind === "Namespace").map((r) => [r.name, r.labels]),
  );
  const diagnostics: Diagnostic[] = [];
  const pods: PodPlan[] = [];
  const deployments = resources
    .filter((r) => r.kind === "Deployment")
    .sort((a, b) => compareStrings(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
  // A Pod that names its address is an already running workload the registry reads; one without
  // would have to be run, which only a Deployment asks the runtime to do.
  for (const pod of resources.filter((r) => r.kind === "Pod")) {
    const status = isObj(pod.body.status) ? pod.body.status : {};
    if (typeof status.podIP === "string" && status.podIP !== "") continue;
    diagnostics.push(
      diagnosticAt(pod, ["kind"], "value", {
        code: "CREMA_RUNTIME_UNSUPPORTED_MANIFEST",
        severity: "error",
        message: `the local runtime runs Deployments, not bare Pods: put this Pod's spec in a Deployment's template (replicas: 1). A Pod with status.podIP is read as a running workload instead`,
      }),
    );
  }
  for (const deployment of deployments) {
    const ctx: PlanContext = { deployment, diagnostics };
    const template = isObj(deployment.spec.template) ? deployment.spec.template : {};
    const metadata = isObj(template.metadata) ? template.metadata : {};
    const spec = isObj(template.spec) ? template.spec : {};
    const labels = stringMap(metadata.labels);
    const annotations = stringMap(metadata.annotations);
    const gateway = isGatewayTemplate(annotations);
    const errorsBefore = diagnostics.length;
    const containers = planContainers(ctx, spec, gateway);
    if (diagnostics.length > errorsBefore) continue;
    const podLike = { labels, annotations, spec } as unknown as Resource;
    const sidecar = sidecarInjected(podLike, namespaceLabels.get(deployment.namespace) ?? {});
    if (gateway && !sidecar) {
      error(
        ctx,
        ["spec", "template", "metadata", "labels"],
        'a gateway-template pod gets its proxy by injection: label it sidecar.istio.io/inject: "true" or deploy it in a namespace labelled istio-injection=enabled',
      );
      continue;
    }
    const proxyConcurrency = proxyConfigConcurrency(ctx, annotations);
    if (proxyConcurrency === undefined) continue;
    const templateHash = nameChars(hash(JSON.stringify(template)), 10);
    const replicas = typeof deployment.spec.replicas === "number" ? deployment.spec.replicas : 1;
    const serviceAccount =
      typeof spec.serviceAccountName === "string" ? spec.serviceAccountName : "default";
    for (let index = 0; index < replicas; index++) {
      const suffix = nameChars(
        `${deployment.namespace}/${deployment.name}/${templateHash}/${index}`,
        5,
      );
      pods.push({
        name: `${deployment.name}-${templateHash}-${suffix}`,
        namespace: deployment.namespace,
        deployment: deployment.name,
        templateHash,
        labels: { ...labels, "pod-template-hash": templateHash },
        annotations,
        serviceAccount,
        containers,
        sidecar,
        gateway,
        workingDir: deployment.source ? dirname(deployment.source.file) : ".",
        proxyConcurrency,
      });
    }
  }
  return { pods, diagnostics };
}
