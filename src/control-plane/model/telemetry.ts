// The Telemetry API (telemetry.istio.io) as istiod resolves it for one proxy (pilot model/telemetry.go):
// the root namespace's mesh-wide resource, then the proxy's namespace-wide one, then the first
// resource in its namespace whose selector matches the proxy's labels. Later levels override
// earlier ones; what they merge into differs for access logging, tracing and metrics.
import { selectorMatches } from "../../config/analysis/labels.ts";
import type { Resource } from "../../config/resource.ts";
import type { MeshConfig } from "./mesh-config.ts";
import type { ConfigList } from "./snapshot.ts";

/** Which side of a connection a listener serves: outbound and gateways are CLIENT, inbound SERVER. */
export type WorkloadMode = "CLIENT" | "SERVER";
type ModeSelector = WorkloadMode | "CLIENT_AND_SERVER";

export interface AccessLoggingEntry {
  providers: readonly string[];
  mode: ModeSelector;
  filterExpression?: string;
  disabled?: boolean;
}

export type CustomTag =
  | { literal: { value: string } }
  | { environment: { name: string; defaultValue?: string } }
  | { header: { name: string; defaultValue?: string } };

export interface TracingEntry {
  providers: readonly string[];
  mode: ModeSelector;
  disableSpanReporting?: boolean;
  randomSamplingPercentage?: number;
  customTags?: Readonly<Record<string, CustomTag>>;
  useRequestIdForTraceSampling?: boolean;
}

export interface TagOverride {
  operation: "UPSERT" | "REMOVE";
  value?: string;
}

export interface MetricsOverrideEntry {
  /** ALL_METRICS, REQUEST_COUNT …; absent with no customMetric means all metrics. */
  metric?: string;
  customMetric?: string;
  mode: ModeSelector;
  disabled?: boolean;
  tagOverrides: Readonly<Record<string, TagOverride>>;
}

export interface MetricsEntry {
  providers: readonly string[];
  overrides: readonly MetricsOverrideEntry[];
  /** Metrics.reportingInterval as written ("15s"); how often long connections report. */
  reportingInterval?: string;
}

/** The Telemetry entries in scope for a proxy, broadest level first. */
export interface ApplicableTelemetry {
  metrics: readonly MetricsEntry[];
  /** One list per level that configures access logging. */
  logging: readonly (readonly AccessLoggingEntry[])[];
  tracing: readonly TracingEntry[];
}

const NONE: ApplicableTelemetry = { metrics: [], logging: [], tracing: [] };

// ---- Decoding a Telemetry spec (validated already; read defensively all the same) ----

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);

function providerNames(v: unknown): string[] {
  return objects(v).flatMap((p) => (typeof p.name === "string" ? [p.name] : []));
}

function modeOf(match: unknown): ModeSelector {
  const mode = isObj(match) ? match.mode : undefined;
  return mode === "CLIENT" || mode === "SERVER" ? mode : "CLIENT_AND_SERVER";
}

function accessLoggingOf(spec: Obj): AccessLoggingEntry[] {
  return objects(spec.accessLogging).map((entry) => {
    const expression = isObj(entry.filter) ? str(entry.filter.expression) : undefined;
    const disabled = bool(entry.disabled);
    return {
      providers: providerNames(entry.providers),
      mode: modeOf(entry.match),
      ...(expression ? { filterExpression: expression } : {}),
      ...(disabled !== undefined ? { disabled } : {}),
    };
  });
}

function customTagOf(tag: unknown): CustomTag | undefined {
  if (!isObj(tag)) return undefined;
  const source = (field: unknown) =>
    isObj(field) && typeof field.name === "string"
      ? {
          name: field.name,
          ...(typeof field.defaultValue === "string" ? { defaultValue: field.defaultValue } : {}),
        }
      : undefined;
  if (isObj(tag.literal)) return { literal: { value: str(tag.literal.value) ?? "" } };
  const environment = source(tag.environment);
  if (environment) return { environment };
  const header = source(tag.header);
  return header ? { header } : undefined;
}

function tracingOf(spec: Obj): TracingEntry[] {
  return objects(spec.tracing).map((entry) => {
    const out: TracingEntry = {
      providers: providerNames(entry.providers),
      mode: modeOf(entry.match),
    };
    const disable = bool(entry.disableSpanReporting);
    if (disable !== undefined) out.disableSpanReporting = disable;
    if (typeof entry.randomSamplingPercentage === "number")
      out.randomSamplingPercentage = entry.randomSamplingPercentage;
    const useRequestId = bool(entry.useRequestIdForTraceSampling);
    if (useRequestId !== undefined) out.useRequestIdForTraceSampling = useRequestId;
    if (isObj(entry.customTags)) {
      const tags: Record<string, CustomTag> = {};
      for (const [name, tag] of Object.entries(entry.customTags)) {
        const decoded = customTagOf(tag);
        if (decoded) tags[name] = decoded;
      }
      out.customTags = tags;
    }
    return out;
  });
}

function metricsOf(spec: Obj): MetricsEntry[] {
  return objects(spec.metrics).map((entry) => ({
    providers: providerNames(entry.providers),
    ...(typeof entry.reportingInterval === "string"
      ? { reportingInterval: entry.reportingInterval }
      : {}),
    overrides: objects(entry.overrides).map((o) => {
      const match = isObj(o.match) ? o.match : {};
      const tagOverrides: Record<string, TagOverride> = {};
      if (isObj(o.tagOverrides)) {
        for (const [tag, t] of Object.entries(o.tagOverrides)) {
          const override = isObj(t) ? t : {};
          const value = str(override.value);
          tagOverrides[tag] = {
            operation: override.operation === "REMOVE" ? "REMOVE" : "UPSERT",
            ...(value !== undefined ? { value } : {}),
          };
        }
      }
      const metric = str(match.metric);
      const customMetric = str(match.customMetric);
      const disabled = bool(o.disabled);
      return {
        ...(metric ? { metric } : {}),
        ...(customMetric ? { customMetric } : {}),
        mode: modeOf(match),
        ...(disabled !== undefined ? { disabled } : {}),
        tagOverrides,
      };
    }),
  }));
}

// ---- Which Telemetry resources apply ----

function selectorOf(telemetry: Resource): Readonly<Record<string, string>> {
  const selector = telemetry.spec.selector;
  const labels = isObj(selector) ? selector.matchLabels : undefined;
  return isObj(labels) ? (labels as Record<string, string>) : {};
}

/** Policy attachment (targetRef/targetRefs) scopes a resource to Gateway API objects crema does not run. */
function hasTargetRefs(telemetry: Resource): boolean {
  const refs = telemetry.spec.targetRefs;
  return telemetry.spec.targetRef !== undefined || (Array.isArray(refs) && refs.length > 0);
}

function namespaceWide(telemetries: ConfigList, namespace: string): Resource | undefined {
  return telemetries.find(
    (t) =>
      t.namespace === namespace && Object.keys(selectorOf(t)).length === 0 && !hasTargetRefs(t),
  );
}

/** istiod's applicableTelemetries: the root, namespace and first matching workload resource. */
export function applicableTelemetry(
  telemetries: ConfigList,
  proxy: { namespace: string; labels: Readonly<Record<string, string>> },
  rootNamespace: string,
): ApplicableTelemetry {
  if (telemetries.length === 0) return NONE;
  const levels: Resource[] = [];
  const root = rootNamespace ? namespaceWide(telemetries, rootNamespace) : undefined;
  if (root) levels.push(root);
  if (proxy.namespace !== rootNamespace) {
    const namespace = namespaceWide(telemetries, proxy.namespace);
    if (namespace) levels.push(namespace);
  }
  const workload = telemetries.find((t) => {
    const selector = selectorOf(t);
    return (
      t.namespace === proxy.namespace &&
      Object.keys(selector).length > 0 &&
      selectorMatches(selector, proxy.labels)
    );
  });
  if (workload) levels.push(workload);
  return {
    metrics: levels.flatMap((t) => metricsOf(t.spec)),
    logging: levels.map((t) => accessLoggingOf(t.spec)).filter((l) => l.length > 0),
    tracing: levels.flatMap((t) => tracingOf(t.spec)),
  };
}

function modeMatches(selector: ModeSelector, mode: WorkloadMode): boolean {
  return selector === "CLIENT_AND_SERVER" || selector === mode;
}

// ---- Access logging (mergeLogs) ----

/**
 * The access-log providers for one side of a proxy, each with its filter expression (or
 * undefined). undefined as a whole: nothing in the Telemetry API configures logging, so
 * meshConfig.accessLogFile decides; an empty map turns logging off.
 */
export function accessLogProviders(
  telemetry: ApplicableTelemetry,
  mesh: Pick<MeshConfig, "defaultAccessLogProviders">,
  mode: WorkloadMode,
): Map<string, string | undefined> | undefined {
  const defaults = mesh.defaultAccessLogProviders;
  if (telemetry.logging.length === 0) {
    if (defaults.length === 0) return undefined;
    return new Map(defaults.map((name) => [name, undefined]));
  }
  // The deepest level that names providers decides which are in scope at all.
  let inScope: readonly string[] = defaults;
  const filters = new Map<string, string | undefined>();
  for (const level of telemetry.logging) {
    const named = new Set<string>();
    for (const entry of level) {
      if (!modeMatches(entry.mode, mode)) continue;
      for (const name of entry.providers) {
        named.add(name);
        filters.set(name, entry.filterExpression);
      }
    }
    if (named.size > 0) inScope = [...named];
  }
  const scope = new Set(inScope);
  const providers = new Map<string, string | undefined>();
  let parent: readonly string[] = defaults;
  for (const level of telemetry.logging) {
    for (const entry of level) {
      const names = entry.providers.length > 0 ? entry.providers : parent;
      parent = names;
      if (!modeMatches(entry.mode, mode)) continue;
      for (const name of names) {
        if (!scope.has(name)) continue;
        if (entry.disabled) providers.delete(name);
        else providers.set(name, filters.get(name));
      }
    }
  }
  return providers;
}

// ---- Tracing ----

export interface TracingSpec {
  provider?: string;
  disabled: boolean;
  randomSamplingPercentage?: number;
  customTags?: Readonly<Record<string, CustomTag>>;
  useRequestIdForTraceSampling: boolean;
}

/**
 * istiod's Telemetries.Tracing: the spec for each side, or undefined when neither a Telemetry
 * resource nor defaultProviders.tracing configures tracing (meshConfig alone decides then).
 * A spec without a provider is disabled.
 */
export function tracingSpecs(
  telemetry: ApplicableTelemetry,
  mesh: Pick<MeshConfig, "defaultTracingProviders">,
): Record<WorkloadMode, TracingSpec> | undefined {
  const defaultProvider = mesh.defaultTracingProviders[0];
  if (telemetry.tracing.length === 0 && defaultProvider === undefined) return undefined;
  const base = (): TracingSpec => ({
    ...(defaultProvider !== undefined ? { provider: defaultProvider } : {}),
    disabled: false,
    useRequestIdForTraceSampling: true,
  });
  const specs: Record<WorkloadMode, TracingSpec> = { CLIENT: base(), SERVER: base() };
  for (const entry of telemetry.tracing) {
    const targets = (["CLIENT", "SERVER"] as const)
      .filter((mode) => modeMatches(entry.mode, mode))
      .map((mode) => specs[mode]);
    for (const spec of targets) {
      // One provider per side: the first one named.
      if (entry.providers[0] !== undefined) spec.provider = entry.providers[0];
      if (entry.disableSpanReporting !== undefined) spec.disabled = entry.disableSpanReporting;
      if (entry.customTags !== undefined) spec.customTags = entry.customTags;
      if (entry.randomSamplingPercentage !== undefined)
        spec.randomSamplingPercentage = entry.randomSamplingPercentage;
      if (entry.useRequestIdForTraceSampling !== undefined)
        spec.useRequestIdForTraceSampling = entry.useRequestIdForTraceSampling;
    }
  }
  for (const spec of Object.values(specs)) if (spec.provider === undefined) spec.disabled = true;
  return specs;
}

// ---- Metrics (mergeMetrics) ----

/** Telemetry's metric selector names → the stats filter's metric names (istio_ prefix dropped). */
export const STANDARD_METRICS: Readonly<Record<string, string>> = {
  REQUEST_COUNT: "requests_total",
  REQUEST_DURATION: "request_duration_milliseconds",
  REQUEST_SIZE: "request_bytes",
  RESPONSE_SIZE: "response_bytes",
  TCP_OPENED_CONNECTIONS: "tcp_connections_opened_total",
  TCP_CLOSED_CONNECTIONS: "tcp_connections_closed_total",
  TCP_SENT_BYTES: "tcp_sent_bytes_total",
  TCP_RECEIVED_BYTES: "tcp_received_bytes_total",
  GRPC_REQUEST_MESSAGES: "request_messages_total",
  GRPC_RESPONSE_MESSAGES: "response_messages_total",
};
const ALL_METRICS = Object.keys(STANDARD_METRICS).sort();
const MODES: readonly WorkloadMode[] = ["CLIENT", "SERVER"];

/** One metric's merged override: the stats filter's MetricConfig. */
export interface MetricOverride {
  /** The stats filter's name for the metric (requests_total …) or a custom metric's name. */
  name: string;
  drop: boolean;
  /** Tag → CEL expression giving its value (added, or replacing a standard label's value). */
  dimensions: Readonly<Record<string, string>>;
  tagsToRemove: readonly string[];
}

/**
 * One provider's merged metrics config. A side is absent when ALL_METRICS is disabled for it
 * (that side's listeners get no stats filter); present and empty means no overrides.
 */
export interface MetricsByMode {
  CLIENT?: readonly MetricOverride[];
  SERVER?: readonly MetricOverride[];
  /** The deepest Metrics.reportingInterval naming the provider (tcp_reporting_duration). */
  reportingInterval?: string;
}

function selectedMetrics(override: MetricsOverrideEntry): string[] {
  if (override.customMetric !== undefined) return [override.customMetric];
  if (override.metric === undefined || override.metric === "ALL_METRICS") return ALL_METRICS;
  return [override.metric];
}

/** A selector without a metric selects them all, as ALL_METRICS does (istiod's isAllMetrics). */
function isAllMetrics(override: MetricsOverrideEntry): boolean {
  return (
    override.customMetric === undefined &&
    (override.metric === undefined || override.metric === "ALL_METRICS")
  );
}

const byKey = <T>([a]: readonly [string, T], [b]: readonly [string, T]) =>
  a < b ? -1 : a > b ? 1 : 0;

/**
 * istiod's mergeMetrics: for each metrics provider in scope, the overrides per side. Levels are
 * merged in order (later wins, tag by tag); a level without providers inherits the previous
 * level's. Disabling ALL_METRICS turns a side off until a later override for that side turns it
 * back on. A provider with both sides off is left out (no stats filter at all).
 */
export function metricsProviders(
  telemetry: ApplicableTelemetry,
  mesh: Pick<MeshConfig, "defaultMetricsProviders">,
): Map<string, MetricsByMode> {
  type Merged = { disabled?: boolean; tags: Map<string, TagOverride> };
  type Sides = Record<WorkloadMode, Map<string, Merged>>;
  const perProvider = new Map<string, Sides>();
  const empty = (): Sides => ({ CLIENT: new Map(), SERVER: new Map() });
  const defaults = mesh.defaultMetricsProviders;
  if (telemetry.metrics.length === 0) for (const name of defaults) perProvider.set(name, empty());

  let inScope: readonly string[] = defaults;
  for (const entry of telemetry.metrics) if (entry.providers.length > 0) inScope = entry.providers;
  const scope = new Set(inScope);

  let parent: readonly string[] = defaults;
  /** `provider/mode` keys whose side is off. */
  const sidesOff = new Set<string>();
  const intervals = new Map<string, string>();
  for (const entry of telemetry.metrics) {
    const names = entry.providers.length > 0 ? entry.providers : parent;
    parent = names;
    for (const name of names) {
      if (!scope.has(name)) continue;
      if (entry.reportingInterval !== undefined) intervals.set(name, entry.reportingInterval);
      let sides = perProvider.get(name);
      if (!sides) {
        sides = empty();
        perProvider.set(name, sides);
      }
      for (const override of entry.overrides) {
        const modes = MODES.filter((mode) => modeMatches(override.mode, mode));
        if (isAllMetrics(override) && override.disabled === true) {
          for (const mode of modes) sidesOff.add(`${name}/${mode}`);
          continue;
        }
        for (const mode of modes) {
          // A narrower level that overrides anything on a side turns it back on.
          sidesOff.delete(`${name}/${mode}`);
          for (const metric of selectedMetrics(override)) {
            const merged: Merged = sides[mode].get(metric) ?? { tags: new Map() };
            if (override.disabled !== undefined) merged.disabled = override.disabled;
            for (const [tag, value] of Object.entries(override.tagOverrides))
              merged.tags.set(tag, value);
            sides[mode].set(metric, merged);
          }
        }
      }
    }
  }

  const side = (merged: Map<string, Merged>): MetricOverride[] =>
    // Sorted by selector name (REQUEST_COUNT …), as istiod orders them.
    [...merged].sort(byKey).map(([metric, m]) => {
      const tags = [...m.tags].sort(byKey);
      return {
        name: STANDARD_METRICS[metric] ?? metric,
        drop: m.disabled === true,
        dimensions: Object.fromEntries(
          tags.filter(([, t]) => t.operation === "UPSERT").map(([tag, t]) => [tag, t.value ?? ""]),
        ),
        tagsToRemove: tags.filter(([, t]) => t.operation === "REMOVE").map(([tag]) => tag),
      };
    });
  const result = new Map<string, MetricsByMode>();
  for (const [provider, sides] of perProvider) {
    const out: { -readonly [K in keyof MetricsByMode]: MetricsByMode[K] } = {};
    for (const mode of MODES)
      if (!sidesOff.has(`${provider}/${mode}`)) out[mode] = side(sides[mode]);
    if (out.CLIENT === undefined && out.SERVER === undefined) continue;
    const interval = intervals.get(provider);
    if (interval !== undefined) out.reportingInterval = interval;
    result.set(provider, out);
  }
  return result;
}
