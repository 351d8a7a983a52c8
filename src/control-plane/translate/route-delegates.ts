// VirtualService delegation: a root rule `delegate: {name, namespace}` is replaced by the
// delegate's http rules, each merged with the root rule as Istio's mergeHTTPRoute does — match
// conditions intersected (a delegate match must fall inside a root match, else it is dropped),
// and the root's settings filling in what the delegate leaves unset.
import { isObj, num, type Obj, objs, str, strings } from "./route-values.ts";

/** Root settings a delegate rule inherits when it does not set them itself. */
const INHERITED = [
  "rewrite",
  "directResponse",
  "timeout",
  "retries",
  "fault",
  "mirror",
  "mirrorPercent",
  "mirrorPercentage",
  "corsPolicy",
  "mirrors",
  "headers",
] as const;

const STRING_MATCH_FIELDS = ["uri", "scheme", "method", "authority"] as const;
const MAP_FIELDS = ["headers", "withoutHeaders", "queryParams"] as const;

function joinNames(root: string, leaf: string): string {
  if (!leaf) return root;
  return root ? `${root}-${leaf}` : leaf;
}

function stringMatchConflict(root: unknown, leaf: unknown): boolean {
  if (!isObj(root) || !isObj(leaf)) return false;
  const rootRegex = str(root.regex);
  const leafRegex = str(leaf.regex);
  if (rootRegex && (leafRegex || str(leaf.prefix) || str(leaf.exact))) return true;
  if (leafRegex && (rootRegex || str(root.prefix) || str(root.exact))) return true;
  const exact = str(root.exact);
  if (exact) return str(leaf.prefix) !== "" || str(leaf.exact) !== exact;
  const prefix = str(root.prefix);
  if (prefix) {
    if (str(leaf.prefix)) return !str(leaf.prefix).startsWith(prefix);
    if (str(leaf.exact)) return !str(leaf.exact).startsWith(prefix);
  }
  return true;
}

function mapOf(match: Obj, field: string): Obj {
  return isObj(match[field]) ? (match[field] as Obj) : {};
}

/** Istio's hasConflict: the leaf match cannot be narrowed from the root match. */
function hasConflict(root: Obj, leaf: Obj): boolean {
  for (const field of STRING_MATCH_FIELDS)
    if (stringMatchConflict(root[field], leaf[field])) return true;
  for (const field of MAP_FIELDS) {
    const rootMap = mapOf(root, field);
    for (const [key, value] of Object.entries(mapOf(leaf, field)))
      if (stringMatchConflict(rootMap[key], value)) return true;
  }
  if ((root.ignoreUriCase === true) !== (leaf.ignoreUriCase === true)) return true;
  if (num(root.port) > 0 && num(leaf.port) > 0 && num(root.port) !== num(leaf.port)) return true;
  const rootNs = str(root.sourceNamespace);
  if (rootNs && str(leaf.sourceNamespace) !== rootNs) return true;
  const rootLabels = mapOf(root, "sourceLabels");
  for (const [key, value] of Object.entries(mapOf(leaf, "sourceLabels")))
    if (key in rootLabels && rootLabels[key] !== value) return true;
  const rootGateways = strings(root.gateways);
  const leafGateways = strings(leaf.gateways);
  if (rootGateways.length > 0 && leafGateways.length > 0) {
    if (rootGateways.length < leafGateways.length) return true;
    if (leafGateways.some((g) => !rootGateways.includes(g))) return true;
  }
  return false;
}

function mergeMatch(root: Obj, leaf: Obj): Obj {
  const out: Obj = { ...leaf, name: joinNames(str(root.name), str(leaf.name)) };
  if (!out.name) delete out.name;
  for (const field of STRING_MATCH_FIELDS) if (out[field] === undefined) out[field] = root[field];
  for (const field of [...MAP_FIELDS, "sourceLabels"])
    out[field] = { ...mapOf(root, field), ...mapOf(leaf, field) };
  if (!num(out.port) && num(root.port)) out.port = root.port;
  if (!str(out.sourceNamespace) && str(root.sourceNamespace))
    out.sourceNamespace = root.sourceNamespace;
  if (strings(out.gateways).length === 0 && strings(root.gateways).length > 0)
    out.gateways = root.gateways;
  if (!str(out.statPrefix) && str(root.statPrefix)) out.statPrefix = root.statPrefix;
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out;
}

/** Merged match list, or undefined when some delegate match fits in no root match. */
function mergeMatches(root: Obj[], leaf: Obj[]): Obj[] | undefined {
  if (root.length === 0) return leaf;
  if (leaf.length === 0) return root;
  const out: Obj[] = [];
  for (const sub of leaf) {
    const fitting = root.filter((r) => !hasConflict(r, sub));
    if (fitting.length === 0) return undefined;
    out.push(...fitting.map((r) => mergeMatch(r, sub)));
  }
  return out.length ? out : undefined;
}

function mergeRule(root: Obj, leaf: Obj): Obj | undefined {
  const matches = mergeMatches(objs(root.match), objs(leaf.match));
  if (!matches) return undefined;
  const out: Obj = { ...leaf, match: matches };
  if (matches.length === 0) delete out.match;
  const name = joinNames(str(root.name), str(leaf.name));
  if (name) out.name = name;
  for (const field of INHERITED)
    if (out[field] === undefined && root[field] !== undefined) out[field] = root[field];
  return out;
}

/** The rules a root rule with `delegate` stands for: the delegate's rules merged with it. */
export function mergeDelegateRules(root: Obj, delegateRules: readonly Obj[]): Obj[] {
  const { delegate: _delegate, ...rootRule } = root;
  return delegateRules
    .map((leaf) => mergeRule(rootRule, structuredClone(leaf)))
    .filter((r): r is Obj => r !== undefined);
}
