// The values behind Istio's metrics: one series per family and label text, counters as plain
// numbers and histograms as bucket counts. Label text is built once per series (the exposition
// only concatenates it), and a family may hold series whose label sets differ, as the stats
// filter's tag overrides make them.
import { ISTIO_HISTOGRAM_BUCKETS } from "./metric-definitions.ts";
import { KEEP, type LabelPlan, REMOVE } from "./metric-overrides.ts";

/** A histogram over fixed bounds; counts per bucket, the last slot above every bound. */
export class Histogram {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[] = ISTIO_HISTOGRAM_BUCKETS) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** One label set of a counter family. `labels` is the exposition's label text. */
export interface CounterSeries {
  readonly labels: string;
  value: number;
}

/** One label set of a histogram family. */
export interface HistogramSeries {
  readonly labels: string;
  readonly histogram: Histogram;
}

const NEEDS_ESCAPE = /[\\\n"]/;

/** A label value as it goes between the exposition format's double quotes. */
export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** `name="value",…` for `values`, named from `names[from]` on. */
export function labelText(names: readonly string[], values: readonly string[], from = 0): string {
  let out = "";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    out += `${names[from + i]}="${escapeLabelValue(values[i]!)}"`;
  }
  return out;
}

/**
 * The label text of a metric under a plan: its standard labels kept, left out or given an
 * expression's value, then the added labels. `expressions` holds the stream's evaluated values.
 */
export function plannedLabelText(
  plan: LabelPlan,
  names: readonly string[],
  values: readonly string[],
  expressions: readonly string[] = [],
): string {
  let out = "";
  const standard = plan.standard;
  for (let i = 0; i < standard.length; i++) {
    const source = standard[i]!;
    if (source === REMOVE) continue;
    const value = source === KEEP ? values[i]! : (expressions[source] ?? "");
    out += `${out === "" ? "" : ","}${names[i]}="${escapeLabelValue(value)}"`;
  }
  for (const [name, id] of plan.added) {
    out += `${out === "" ? "" : ","}${name}="${escapeLabelValue(expressions[id] ?? "")}"`;
  }
  return out;
}

/**
 * A plan's label text for one set of standard values, with the expressions' values left as gaps:
 * the fixed text is escaped and joined once, so a stream only fills in its expression values.
 */
class LabelTemplate {
  /** Fixed text around the gaps: one more than `gaps`. */
  private readonly texts: string[] = [""];
  /** The expression each gap takes its value from. */
  readonly gaps: number[] = [];

  constructor(plan: LabelPlan, names: readonly string[], values: readonly string[]) {
    let first = true;
    const label = (name: string, value: string | number) => {
      const last = this.texts.length - 1;
      this.texts[last] += `${first ? "" : ","}${name}="`;
      first = false;
      if (typeof value === "string") this.texts[last] += `${escapeLabelValue(value)}"`;
      else {
        this.gaps.push(value);
        this.texts.push('"');
      }
    };
    plan.standard.forEach((source, i) => {
      if (source === KEEP) label(names[i]!, values[i]!);
      else if (source !== REMOVE) label(names[i]!, source);
    });
    for (const [name, id] of plan.added) label(name, id);
  }

  render(expressions: readonly string[]): string {
    let out = this.texts[0]!;
    for (let i = 0; i < this.gaps.length; i++)
      out += escapeLabelValue(expressions[this.gaps[i]!] ?? "") + this.texts[i + 1]!;
    return out;
  }
}

/** Expression values remembered per dynamic series (past it, the label text is built again). */
const MAX_REMEMBERED = 1024;

/**
 * The series of a metric whose labels come from expressions, for one set of standard label
 * values: found by the expressions' values, so a repeated value costs a short key's lookup
 * rather than a label text's.
 */
export class DynamicSeries<S> {
  private readonly template: LabelTemplate;
  private readonly find: (labels: string) => S;
  private readonly known = new Map<string, S>();

  constructor(
    plan: LabelPlan,
    names: readonly string[],
    values: readonly string[],
    find: (labels: string) => S,
  ) {
    this.template = new LabelTemplate(plan, names, values);
    this.find = find;
  }

  get(expressions: readonly string[]): S {
    const gaps = this.template.gaps;
    let key = expressions[gaps[0]!] ?? "";
    for (let i = 1; i < gaps.length; i++) key += `\u0000${expressions[gaps[i]!] ?? ""}`;
    let series = this.known.get(key);
    if (series === undefined) {
      series = this.find(this.template.render(expressions));
      if (this.known.size < MAX_REMEMBERED) this.known.set(key, series);
    }
    return series;
  }
}

/**
 * Every series of one proxy thread, by family name then label text. Series are shared by every
 * stats filter whose labels come out the same, as Envoy's stats store shares a stat by name.
 */
export class SeriesStore {
  private readonly counterFamilies = new Map<string, Map<string, CounterSeries>>();
  private readonly histogramFamilies = new Map<string, Map<string, HistogramSeries>>();

  counter(family: string, labels: string): CounterSeries {
    let series = this.counterFamilies.get(family);
    if (!series) {
      series = new Map();
      this.counterFamilies.set(family, series);
    }
    let one = series.get(labels);
    if (!one) {
      one = { labels, value: 0 };
      series.set(labels, one);
    }
    return one;
  }

  histogram(family: string, labels: string): HistogramSeries {
    let series = this.histogramFamilies.get(family);
    if (!series) {
      series = new Map();
      this.histogramFamilies.set(family, series);
    }
    let one = series.get(labels);
    if (!one) {
      one = { labels, histogram: new Histogram() };
      series.set(labels, one);
    }
    return one;
  }

  counters(family: string): IterableIterator<CounterSeries> {
    return (this.counterFamilies.get(family) ?? new Map<string, CounterSeries>()).values();
  }

  histograms(family: string): IterableIterator<HistogramSeries> {
    return (this.histogramFamilies.get(family) ?? new Map<string, HistogramSeries>()).values();
  }

  /** Every family with its series, counters first. */
  *families(): IterableIterator<
    | { kind: "counter"; name: string; series: ReadonlyMap<string, CounterSeries> }
    | { kind: "histogram"; name: string; series: ReadonlyMap<string, HistogramSeries> }
  > {
    for (const [name, series] of this.counterFamilies) yield { kind: "counter", name, series };
    for (const [name, series] of this.histogramFamilies) yield { kind: "histogram", name, series };
  }

  /** How many series exist, all families together. */
  get size(): number {
    let n = 0;
    for (const series of this.counterFamilies.values()) n += series.size;
    for (const series of this.histogramFamilies.values()) n += series.size;
    return n;
  }
}
