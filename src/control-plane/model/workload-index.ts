// Label index over workloads, built once per snapshot, so selector lookups (Service selectors,
// workloadSelector, policies) cost O(smallest posting list) instead of a scan of every workload.
import { selectorMatches } from "../../config/analysis/labels.ts";
import type { Workload } from "./workload.ts";

type Labels = Readonly<Record<string, string>>;

export type WorkloadSelect<T> = (selector: Labels, namespace?: string) => readonly T[];

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}

/**
 * Indexes items (in input order) by namespace and by each label, with and without namespace.
 * The returned function answers "items whose labels match `selector`" in input order; an
 * empty selector matches every item (in `namespace`, or anywhere).
 */
export function indexWorkloads<T>(
  items: readonly T[],
  workloadOf: (item: T) => Workload,
): WorkloadSelect<T> {
  const byNamespace = new Map<string, T[]>();
  const byLabel = new Map<string, T[]>();
  for (const item of items) {
    const w = workloadOf(item);
    push(byNamespace, w.namespace, item);
    for (const [key, value] of Object.entries(w.labels)) {
      push(byLabel, `\u0000${key}\u0000${value}`, item);
      push(byLabel, `${w.namespace}\u0000${key}\u0000${value}`, item);
    }
  }
  return (selector, namespace) => {
    const entries = Object.entries(selector);
    if (entries.length === 0)
      return namespace === undefined ? items : (byNamespace.get(namespace) ?? []);
    let smallest: readonly T[] | undefined;
    for (const [key, value] of entries) {
      const list = byLabel.get(`${namespace ?? ""}\u0000${key}\u0000${value}`) ?? [];
      if (!smallest || list.length < smallest.length) smallest = list;
      if (list.length === 0) return [];
    }
    if (entries.length === 1) return smallest!;
    return smallest!.filter((item) => selectorMatches(selector, workloadOf(item).labels));
  };
}
