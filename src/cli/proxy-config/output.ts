// `-o short|json|yaml`, as istioctl's proxy-config takes it: short is a table, json and yaml
// print the selected part of the proxy's configuration as data.
import { stringify } from "yaml";

export const OUTPUT_FORMATS = ["short", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** JSON with 2-space indents or YAML, newline-terminated. */
export function formatStructured(value: unknown, format: "json" | "yaml"): string {
  if (format === "yaml") return stringify(value, { lineWidth: 0 });
  return `${JSON.stringify(value, null, 2)}\n`;
}
