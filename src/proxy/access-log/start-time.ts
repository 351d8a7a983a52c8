// %START_TIME% and %START_TIME(FORMAT)%: Envoy's default ISO 8601 rendering, and the strftime
// specifiers access log formats use plus Envoy's own %s and %f/%Nf, always in UTC as Envoy logs.

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** Fractional seconds to `digits` digits; below a millisecond the clock says nothing, so zeros. */
function fraction(ms: number, digits: number): string {
  return pad(ms, 3).padEnd(9, "0").slice(0, digits);
}

function dayOfYear(d: Date): number {
  return Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
}

/** One specifier (the text after `%`, e.g. "Y" or "3f") → its rendering, or undefined if unknown. */
function specifier(spec: string, d: Date, epochMs: number): string | undefined {
  const ms = d.getUTCMilliseconds();
  switch (spec) {
    case "Y":
      return String(d.getUTCFullYear());
    case "y":
      return pad(d.getUTCFullYear() % 100);
    case "C":
      return pad(Math.floor(d.getUTCFullYear() / 100));
    case "m":
      return pad(d.getUTCMonth() + 1);
    case "d":
      return pad(d.getUTCDate());
    case "e":
      return String(d.getUTCDate()).padStart(2, " ");
    case "H":
      return pad(d.getUTCHours());
    case "I":
      return pad(d.getUTCHours() % 12 || 12);
    case "p":
      return d.getUTCHours() < 12 ? "AM" : "PM";
    case "M":
      return pad(d.getUTCMinutes());
    case "S":
      return pad(d.getUTCSeconds());
    case "j":
      return pad(dayOfYear(d), 3);
    case "a":
      return DAYS[d.getUTCDay()]!.slice(0, 3);
    case "A":
      return DAYS[d.getUTCDay()]!;
    case "b":
    case "h":
      return MONTHS[d.getUTCMonth()]!.slice(0, 3);
    case "B":
      return MONTHS[d.getUTCMonth()]!;
    case "u":
      return String(d.getUTCDay() || 7);
    case "w":
      return String(d.getUTCDay());
    case "z":
      return "+0000";
    case "Z":
      return "UTC";
    case "s":
      return String(Math.floor(epochMs / 1000));
    case "f":
      return fraction(ms, 9);
    case "F":
      return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    case "T":
      return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    case "R":
      return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    case "D":
      return `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCFullYear() % 100)}`;
    case "n":
      return "\n";
    case "t":
      return "\t";
    case "%":
      return "%";
  }
  const nf = /^([1-9])f$/.exec(spec);
  if (nf) return fraction(ms, Number(nf[1]));
  // absl's %E#S / %E*S: seconds with # (or all significant) fractional digits.
  const es = /^E([1-9]|\*)S$/.exec(spec);
  if (es) {
    const digits = es[1] === "*" ? (ms === 0 ? 0 : 3) : Number(es[1]);
    return digits === 0
      ? pad(d.getUTCSeconds())
      : `${pad(d.getUTCSeconds())}.${fraction(ms, digits)}`;
  }
  return undefined;
}

const SPECIFIER = /%(E[1-9*]S|[1-9]f|.)/gs;

/** %START_TIME% (format undefined: `2026-12-07T09:10:11.123Z`) or %START_TIME(format)%. */
export function formatStartTime(epochMs: number, format: string | undefined): string {
  const d = new Date(epochMs);
  if (format === undefined || format === "") return d.toISOString();
  // Unknown specifiers stay as written, as strftime leaves them.
  return format.replace(SPECIFIER, (all, spec: string) => specifier(spec, d, epochMs) ?? all);
}
