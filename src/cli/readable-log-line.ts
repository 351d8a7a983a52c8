// The runtime's log lines as a person at the terminal of `crema up` reads them: pino writes one
// JSON object per line, which suits files and collectors, not the live view beside the pods'
// output. `runtime warn: cannot fetch a JWKS (reason: …)` instead.

const LEVELS: Readonly<Record<number, string>> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

/** Fields every line has, or that the text already says. */
const SHOWN_ELSEWHERE = new Set(["level", "time", "pid", "hostname", "name", "msg"]);

function valueText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && "message" in value)
    return String((value as { message: unknown }).message);
  return JSON.stringify(value);
}

/** One pino JSON line as `NAME LEVEL: msg (key: value, …)`; any other text as it is. */
export function readableLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== "object" || entry === null || typeof entry.msg !== "string") return line;
  const level = LEVELS[entry.level as number] ?? String(entry.level ?? "log");
  const fields = Object.entries(entry)
    .filter(([key]) => !SHOWN_ELSEWHERE.has(key))
    .map(([key, value]) => `${key}: ${valueText(value)}`);
  const name = typeof entry.name === "string" ? `${entry.name} ` : "";
  return `${name}${level}: ${entry.msg}${fields.length > 0 ? ` (${fields.join(", ")})` : ""}\n`;
}
