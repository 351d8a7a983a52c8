// HTTP rules that can never match: a rule after one that matches every request (no `match`, an
// empty match entry, or only `uri: {prefix: /}`) is unreachable (IST0130, warning); a match
// entry identical to one of an earlier rule is ineffective (IST0131, info). Only these clear-cut cases.
import { objects } from "../validation/rules.ts";
import type { Analyzer } from "./analyzer.ts";

export const virtualServiceMatches: Analyzer = {
  name: "virtualservice.matches",
  codes: ["IST0130", "IST0131"],
  run(ctx) {
    for (const vs of ctx.ofKind("VirtualService")) {
      let catchAll: number | undefined;
      const seen = new Map<string, number>();
      for (const [rule, i] of objects(vs.spec.http)) {
        const matches = objects(rule.match);
        if (catchAll !== undefined) {
          ctx.report(
            vs,
            ["spec", "http", i],
            "IST0130",
            "warning",
            `http[${i}] is never used: http[${catchAll}] before it matches every request; move this rule above it or narrow http[${catchAll}]'s match`,
          );
          continue;
        }
        if (matches.length === 0) catchAll = i;
        for (const [match, j] of matches) {
          const key = canonical(withoutName(match));
          const earlier = seen.get(key);
          if (earlier !== undefined) {
            ctx.report(
              vs,
              ["spec", "http", i, "match", j],
              "IST0131",
              "info",
              `http[${i}].match[${j}] is never used: http[${earlier}] has the same match and comes first; remove it or change the condition`,
            );
          } else {
            seen.set(key, i);
          }
          if (matchesEverything(match)) catchAll = i;
        }
      }
    }
  },
};

function withoutName(match: Record<string, unknown>): Record<string, unknown> {
  const { name: _name, ...rest } = match;
  return rest;
}

function matchesEverything(match: Record<string, unknown>): boolean {
  const { ignoreUriCase: _ignore, ...conditions } = withoutName(match);
  const keys = Object.keys(conditions);
  if (keys.length === 0) return true;
  return keys.length === 1 && canonical(conditions.uri) === canonical({ prefix: "/" });
}

/** JSON with object keys sorted, so equal matches compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
