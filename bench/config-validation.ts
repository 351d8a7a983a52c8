// Benchmark: loading and validating 10,000 resources (levels 1–2) and analyzing them
// (level 3), against a baseline of parsing the same YAML alone, measured in the same run.
import { performance } from "node:perf_hooks";
import { parseAllDocuments } from "yaml";
import { analyzeResources } from "../src/config/analysis/index.ts";
import { validateSources } from "../src/config/validate.ts";

export interface BenchResult {
  name: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  perThousandMs: number;
  ratioToBaseline: number;
}

function resourceSet(count: number): string {
  const docs: string[] = [];
  for (let i = 0; docs.length < count; i++) {
    const ns = `ns-${i % 20}`;
    docs.push(
      `apiVersion: v1\nkind: Service\nmetadata: {name: svc-${i}, namespace: ${ns}}\nspec:\n  selector: {app: svc-${i}}\n  ports:\n  - {name: http, port: 8080}\n`,
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: svc-${i}-v1, namespace: ${ns}}\nspec:\n  selector: {matchLabels: {app: svc-${i}}}\n  template:\n    metadata: {labels: {app: svc-${i}, version: v1}}\n    spec:\n      containers:\n      - name: app\n        image: crema\n        ports: [{containerPort: 8080}]\n`,
      `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc-${i}, namespace: ${ns}}\nspec:\n  hosts: [svc-${i}]\n  http:\n  - match:\n    - headers: {end-user: {exact: jason}}\n      uri: {prefix: /api}\n    route:\n    - destination: {host: svc-${i}, subset: v1}\n      weight: 90\n    - destination: {host: svc-${i}, subset: v1}\n      weight: 10\n    timeout: 2s\n    retries: {attempts: 3, perTryTimeout: 500ms, retryOn: 5xx}\n  - route:\n    - destination: {host: svc-${i}}\n`,
      `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc-${i}, namespace: ${ns}}\nspec:\n  host: svc-${i}\n  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 5, interval: 10s}\n  subsets:\n  - {name: v1, labels: {version: v1}}\n`,
      `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: svc-${i}, namespace: ${ns}}\nspec:\n  selector: {matchLabels: {app: svc-${i}}}\n  rules:\n  - from: [{source: {principals: ["cluster.local/ns/${ns}/sa/client"]}}]\n    to: [{operation: {methods: [GET, POST], paths: ["/api/*"]}}]\n`,
    );
  }
  return docs.slice(0, count).join("---\n");
}

function measure(
  name: string,
  runs: number,
  body: () => void,
): Omit<BenchResult, "perThousandMs" | "ratioToBaseline"> {
  body(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    body();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return {
    name,
    medianMs: samples[Math.floor(samples.length / 2)]!,
    minMs: samples[0]!,
    maxMs: samples.at(-1)!,
  };
}

export function benchConfigValidation(count = 10_000, runs = 5): BenchResult[] {
  const text = resourceSet(count);
  const files = [{ path: "bench.yaml", text }];
  const raw = [
    measure("parse YAML only (baseline)", runs, () => {
      for (const doc of parseAllDocuments(text)) doc.toJS();
    }),
    measure("load + validate (levels 1–2)", runs, () => {
      validateSources(files);
    }),
    measure("load + validate + analyze (1–3)", runs, () => {
      analyzeResources(validateSources(files).resources);
    }),
  ];
  const baseline = raw[0]!.medianMs;
  return raw.map((r) => ({
    ...r,
    perThousandMs: (r.medianMs / count) * 1000,
    ratioToBaseline: r.medianMs / baseline,
  }));
}
