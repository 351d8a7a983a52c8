// The admin server's views of a StatsStore: Envoy's `/stats` text and JSON, and
// `/stats/prometheus` (exposition format 0.0.4) with Envoy's tag extraction turning name segments
// into labels. Written by hand rather than through prom-client: the proxy's counters are plain
// numbers updated on the request path, and the text format is a few lines over them.
import { withTemporaryRe2 } from "../routing/re2-pool.ts";
import type { StatsStore, StatTags } from "./stats-store.ts";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface StatSample {
  readonly name: string;
  readonly value: number;
  readonly type: "counter" | "gauge";
  /** Tags recorded when the stat was created (see StatTags). */
  readonly tags?: StatTags;
}

export interface StatsQuery {
  /** RE2, matched anywhere in the name (Envoy's `?filter=`; anchor with ^…$ for a full match). */
  filter?: string;
  /** Only stats that moved (Envoy's `?usedonly`); crema reads that as "non-zero". */
  usedOnly?: boolean;
}

export type SelectedStats = { ok: true; stats: StatSample[] } | { ok: false; reason: string };

/** The store's counters and gauges that pass the query, sorted by name. */
export function selectStats(store: StatsStore, query: StatsQuery = {}): SelectedStats {
  let stats: StatSample[] = [];
  const add = (name: string, value: number, type: StatSample["type"]) => {
    if (query.usedOnly && value === 0) return;
    const tags = store.tags(name);
    stats.push(tags ? { name, value, type, tags } : { name, value, type });
  };
  for (const [name, counter] of store.counterEntries()) add(name, counter.value, "counter");
  for (const [name, gauge] of store.gaugeEntries()) add(name, gauge.value, "gauge");
  if (query.filter !== undefined && query.filter !== "") {
    const filtered = withTemporaryRe2(query.filter, "u", (re) =>
      stats.filter((s) => re.test(s.name)),
    );
    if (!filtered.ok)
      return {
        ok: false,
        reason: `invalid re2 regex ${JSON.stringify(query.filter)}: ${filtered.reason}`,
      };
    stats = filtered.value;
  }
  stats.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ok: true, stats };
}

/** Envoy's plain `/stats`: one `name: value` line per stat. */
export function renderStatsText(stats: readonly StatSample[]): string {
  let out = "";
  for (const s of stats) out += `${s.name}: ${s.value}\n`;
  return out;
}

/** Envoy's `/stats?format=json`. */
export function renderStatsJson(stats: readonly StatSample[]): {
  stats: { name: string; value: number }[];
} {
  return { stats: stats.map(({ name, value }) => ({ name, value })) };
}

interface TagExtractor {
  readonly label: string;
  /** Group 1 is cut out of the name; the value is group 2, or group 1 when there is no group 2. */
  readonly regex: RegExp;
}

// Envoy's default tag specifiers (well_known_names.cc) for the stats the proxy has, in Envoy's
// order; the cluster one is Istio's bootstrap override, which keeps `<svc>.<ns>.svc.cluster.local`
// whole for stats created without recorded tags.
const EXTRACTORS: readonly TagExtractor[] = [
  { label: "envoy_response_code", regex: /_rq(_(\d{3}))$/d },
  { label: "envoy_response_code_class", regex: /_rq_(\d)xx$/d },
  { label: "envoy_tcp_prefix", regex: /^tcp\.((.*?)\.)\w+?$/d },
  { label: "cluster_name", regex: /^cluster\.((.+?(\..+?\.svc\.cluster\.local)?)\.)/d },
  { label: "envoy_http_conn_manager_prefix", regex: /^listener(?=\.).*?\.http\.((.*?)\.)/d },
  { label: "envoy_http_conn_manager_prefix", regex: /^http\.((.*?)\.)/d },
  {
    label: "envoy_listener_address",
    regex: /^listener\.(((?:[_.\d]*|[_[\]aAbBcCdDeEfF\d]*))\.)/d,
  },
];

/** The tag-extracted name and labels of a stat (recorded tags first, then Envoy's regexes). */
export function extractTags(
  name: string,
  recorded?: StatTags,
): { extractedName: string; tags: [string, string][] } {
  let extracted = recorded?.extractedName ?? name;
  const tags: [string, string][] = recorded ? recorded.tags.map(([k, v]) => [k, v]) : [];
  for (const { label, regex } of EXTRACTORS) {
    if (tags.some(([k]) => k === label)) continue;
    const m = regex.exec(extracted);
    const cut = m?.indices?.[1];
    if (!m || !cut) continue;
    tags.push([label, m[2] ?? m[1] ?? ""]);
    extracted = extracted.slice(0, cut[0]) + extracted.slice(cut[1]);
  }
  return { extractedName: extracted, tags };
}

/** Envoy's metric name: `envoy_` and the tag-extracted name with every other character as `_`. */
export function prometheusName(extractedName: string): string {
  return `envoy_${extractedName.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

/** A label value as the exposition format writes it between double quotes. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function sampleValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
}

/**
 * Envoy's `/stats/prometheus`: a `# TYPE` line per metric family, then its series. Families are
 * sorted by name and each family's series kept together, as the format requires; a gauge whose
 * family name a counter already took is left out rather than mixing types.
 */
export function renderPrometheus(stats: readonly StatSample[]): string {
  const families = new Map<string, { type: StatSample["type"]; lines: string[] }>();
  for (const stat of stats) {
    const { extractedName, tags } = extractTags(stat.name, stat.tags);
    const metric = prometheusName(extractedName);
    let family = families.get(metric);
    if (!family) {
      family = { type: stat.type, lines: [] };
      families.set(metric, family);
    } else if (family.type !== stat.type) continue;
    const labels = tags
      .map(([k, v]) => `${k.replace(/[^a-zA-Z0-9_]/g, "_")}="${escapeLabelValue(v)}"`)
      .join(",");
    family.lines.push(`${metric}${labels ? `{${labels}}` : ""} ${sampleValue(stat.value)}`);
  }
  let out = "";
  for (const metric of [...families.keys()].sort()) {
    const family = families.get(metric)!;
    out += `# TYPE ${metric} ${family.type}\n${family.lines.join("\n")}\n`;
  }
  return out;
}
