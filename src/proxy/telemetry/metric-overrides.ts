// The stats filter's MetricConfig list turned into one label plan per standard metric, by the
// rules of istio/proxy's istio_stats filter (MetricOverrides): a dropped metric is not recorded; a
// removed standard label is left out; a dimension naming a standard label replaces that label's
// value where it stands (only on metrics that have the label); a dimension naming anything else
// is appended after the standard labels. Entries apply in order, later ones winning; an empty
// metric name means every standard metric, an unknown one none.
import type { CelProgram } from "../cel/index.ts";
import { HTTP_LABELS, ISTIO_METRICS, type IstioMetricDefinition } from "./metric-definitions.ts";

/** One decoded MetricConfig. */
export interface MetricConfigEntry {
  /** Without the `istio_` prefix; "" for every metric. */
  readonly name: string;
  /** Label → compiled expression, in the order the filter applies them (sorted by label). */
  readonly dimensions: readonly (readonly [string, CelProgram])[];
  readonly tagsToRemove: readonly string[];
  readonly drop: boolean;
}

/** A standard label kept as the filter computes it. */
export const KEEP = -1;
/** A standard label left out. */
export const REMOVE = -2;

/** How one metric's labels are written. */
export interface LabelPlan {
  /** Per label of the metric's definition: KEEP, REMOVE, or the index of the expression. */
  readonly standard: readonly number[];
  /** Labels after the standard ones: exposition name and expression index. */
  readonly added: readonly (readonly [string, number])[];
  /** Some label's value comes from an expression, so it differs stream by stream. */
  readonly dynamic: boolean;
  /** Nothing changes: the recorder's shared, precomputed label text applies. */
  readonly identity: boolean;
}

export interface MetricOverrides {
  /** Every distinct expression, evaluated once per stream when a plan needs it. */
  readonly expressions: readonly CelProgram[];
  /** The plan of a standard metric by its full name (istio_requests_total); undefined: dropped. */
  plan(metric: IstioMetricDefinition): LabelPlan | undefined;
}

const STANDARD_LABELS: ReadonlySet<string> = new Set(HTTP_LABELS);

/** A Prometheus label name as Envoy's exposition writes it: anything but [a-zA-Z0-9_] is `_`. */
export function sanitizeLabelName(name: string): string {
  const out = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[a-zA-Z_]/.test(out) ? out : `_${out}`;
}

const IDENTITY = (metric: IstioMetricDefinition): LabelPlan => ({
  standard: metric.labels.map(() => KEEP),
  added: [],
  dynamic: false,
  identity: true,
});

/** No overrides at all: every metric as the filter writes it by default. */
export const NO_OVERRIDES: MetricOverrides = (() => {
  const plans = new Map(ISTIO_METRICS.map((m) => [m, IDENTITY(m)]));
  return { expressions: [], plan: (metric) => plans.get(metric) ?? IDENTITY(metric) };
})();

export function compileMetricOverrides(entries: readonly MetricConfigEntry[]): MetricOverrides {
  if (entries.length === 0) return NO_OVERRIDES;
  const expressions: CelProgram[] = [];
  const expressionIds = new Map<string, number>();
  const idOf = (program: CelProgram): number => {
    let id = expressionIds.get(program.expression);
    if (id === undefined) {
      id = expressions.push(program) - 1;
      expressionIds.set(program.expression, id);
    }
    return id;
  };
  const byShortName = new Map(ISTIO_METRICS.map((m) => [m.name.slice("istio_".length), m]));
  const dropped = new Set<IstioMetricDefinition>();
  const replaced = new Map<IstioMetricDefinition, Map<string, number>>();
  const added = new Map<IstioMetricDefinition, Map<string, number>>();
  const targets = (name: string): IstioMetricDefinition[] => {
    if (name === "") return [...ISTIO_METRICS];
    const metric = byShortName.get(name);
    return metric ? [metric] : [];
  };
  const entry = <V>(map: Map<IstioMetricDefinition, Map<string, V>>, m: IstioMetricDefinition) => {
    let labels = map.get(m);
    if (!labels) {
      labels = new Map();
      map.set(m, labels);
    }
    return labels;
  };
  for (const config of entries) {
    if (config.drop) {
      // Only a named metric can be dropped: the filter looks the (possibly empty) name up.
      const metric = byShortName.get(config.name);
      if (metric) dropped.add(metric);
      continue;
    }
    for (const tag of config.tagsToRemove) {
      if (!STANDARD_LABELS.has(tag)) continue;
      for (const metric of targets(config.name)) entry(replaced, metric).set(tag, REMOVE);
    }
    for (const [tag, program] of config.dimensions) {
      const id = idOf(program);
      const standard = STANDARD_LABELS.has(tag);
      for (const metric of targets(config.name)) {
        if (standard) entry(replaced, metric).set(tag, id);
        else entry(added, metric).set(sanitizeLabelName(tag), id);
      }
    }
  }
  const plans = new Map<IstioMetricDefinition, LabelPlan | undefined>();
  for (const metric of ISTIO_METRICS) {
    if (dropped.has(metric)) {
      plans.set(metric, undefined);
      continue;
    }
    const changes = replaced.get(metric);
    const standard = metric.labels.map((label) => changes?.get(label) ?? KEEP);
    const extra = [...(added.get(metric) ?? [])];
    const dynamic = standard.some((s) => s >= 0) || extra.length > 0;
    const identity = !dynamic && standard.every((s) => s === KEEP);
    plans.set(metric, { standard, added: extra, dynamic, identity });
  }
  return {
    expressions,
    plan: (metric) => (plans.has(metric) ? plans.get(metric) : IDENTITY(metric)),
  };
}
