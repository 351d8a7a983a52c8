// Durations as Istio and protobuf write them in YAML: "1.5s", "300ms", "1h", "2m30s".
// Istio's API uses google.protobuf.Duration, whose JSON form is seconds with an "s" suffix;
// Istio's validation additionally accepts Go's time.ParseDuration units (h, m, s, ms, us, ns).

const UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 0.000_001,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)/y;

export type DurationParse = { ok: true; ms: number } | { ok: false; reason: string };

/** Parses a duration string into milliseconds (fractions allowed, e.g. 0.5 for 500 µs). */
export function parseDuration(text: string): DurationParse {
  if (typeof text !== "string" || text.length === 0) {
    return { ok: false, reason: "a duration is a string such as '1.5s', '300ms' or '1h'" };
  }
  let rest = text.trim();
  let sign = 1;
  if (rest.startsWith("-")) {
    sign = -1;
    rest = rest.slice(1);
  } else if (rest.startsWith("+")) {
    rest = rest.slice(1);
  }
  if (rest === "0") return { ok: true, ms: 0 };
  let total = 0;
  PART.lastIndex = 0;
  let consumed = 0;
  while (consumed < rest.length) {
    PART.lastIndex = consumed;
    const match = PART.exec(rest);
    if (!match) {
      return {
        ok: false,
        reason: `'${text}' is not a duration: use a number with a unit (h, m, s, ms, us, ns), e.g. '1.5s' or '300ms'`,
      };
    }
    total += Number(match[1]) * (UNIT_MS[match[2]!] ?? 0);
    consumed = PART.lastIndex;
  }
  return { ok: true, ms: sign * total };
}

/** Formats milliseconds the way protobuf's JSON mapping writes a Duration ("1.500s"). */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (Number.isInteger(seconds)) return `${seconds}s`;
  return `${Number(seconds.toFixed(9))}s`;
}
