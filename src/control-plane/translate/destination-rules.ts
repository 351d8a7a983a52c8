// Which DestinationRule applies to traffic from a proxy to a host, as Istio decides: the
// proxy's namespace first, then the service's namespace, then the root namespace; within a
// namespace an exact host beats the most specific wildcard, rules whose workloadSelector selects
// the proxy beat rules without one, and several rules for the same host are merged (the first
// created supplies the traffic policy, and the first definition of each subset wins).

import { exportedTo, hostCovers } from "../../config/analysis/hosts.ts";
import { selectorMatches } from "../../config/analysis/labels.ts";
import type { Resource } from "../../config/resource.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";

export type Obj = Record<string, unknown>;

export interface EffectiveDestinationRule {
  /** The rules merged into this one, first created first. */
  sources: readonly Resource[];
  /** Host as written, resolved to a FQDN in the rule's namespace. */
  host: string;
  trafficPolicy?: Obj;
  subsets: readonly Obj[];
  exportTo: readonly string[];
}

export interface DestinationRuleClient {
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function specificity(pattern: string, host: string): number {
  if (pattern === host) return Number.MAX_SAFE_INTEGER;
  return hostCovers(pattern, host) ? pattern.length : -1;
}

/** The rules in `namespace` for `host` visible to `client`, best match first. */
function candidatesIn(
  snapshot: MeshSnapshot,
  namespace: string,
  host: string,
  client: DestinationRuleClient,
): Resource[] {
  let best = -1;
  let selected = false;
  let matches: Resource[] = [];
  for (const rule of snapshot.config.destinationRules) {
    if (rule.namespace !== namespace) continue;
    const exportTo = stringList(rule.spec.exportTo);
    if (
      rule.namespace !== client.namespace &&
      !exportedTo(exportTo.length ? exportTo : ["*"], rule.namespace, client.namespace)
    )
      continue;
    const selector = isObj(rule.spec.workloadSelector)
      ? (rule.spec.workloadSelector.matchLabels as Record<string, string> | undefined)
      : undefined;
    const hasSelector = !!selector && Object.keys(selector).length > 0;
    if (
      hasSelector &&
      (rule.namespace !== client.namespace || !selectorMatches(selector, client.labels))
    )
      continue;
    const written = typeof rule.spec.host === "string" ? rule.spec.host : "";
    const score = specificity(snapshot.resolveHost(written, rule.namespace), host);
    if (score < 0) continue;
    // A selected rule outranks unselected ones; then the more specific host wins.
    if ((hasSelector && !selected) || score > best) {
      best = score;
      selected = hasSelector;
      matches = [rule];
    } else if (score === best && hasSelector === selected) {
      matches.push(rule);
    }
  }
  return matches;
}

export function destinationRuleFor(
  snapshot: MeshSnapshot,
  client: DestinationRuleClient,
  hostname: string,
): EffectiveDestinationRule | undefined {
  const service = snapshot.serviceFor(hostname, client.namespace);
  const order = [client.namespace, service?.namespace, snapshot.meshConfig.rootNamespace].filter(
    (ns, i, all): ns is string => !!ns && all.indexOf(ns) === i,
  );
  for (const namespace of order) {
    const rules = candidatesIn(snapshot, namespace, hostname, client);
    if (rules.length > 0) return merge(snapshot, rules);
  }
  return undefined;
}

function merge(snapshot: MeshSnapshot, rules: Resource[]): EffectiveDestinationRule {
  const first = rules[0]!;
  const subsets: Obj[] = [];
  const seen = new Set<string>();
  let trafficPolicy: Obj | undefined;
  for (const rule of rules) {
    if (!trafficPolicy && isObj(rule.spec.trafficPolicy)) trafficPolicy = rule.spec.trafficPolicy;
    for (const subset of Array.isArray(rule.spec.subsets) ? rule.spec.subsets : []) {
      if (!isObj(subset) || typeof subset.name !== "string" || seen.has(subset.name)) continue;
      seen.add(subset.name);
      subsets.push(subset);
    }
  }
  const exportTo = stringList(first.spec.exportTo);
  return {
    sources: rules,
    host: snapshot.resolveHost(String(first.spec.host ?? ""), first.namespace),
    ...(trafficPolicy ? { trafficPolicy } : {}),
    subsets,
    exportTo: exportTo.length ? exportTo : ["*"],
  };
}
