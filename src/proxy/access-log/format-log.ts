// One access log line from a compiled LogFormat and a finished stream's StreamInfo: text formats
// print `-` for unset values; JSON formats give null (omitted with omit_empty_values) and numbers.
import type { StreamInfo } from "../http/stream-info.ts";
import { isNumericOperator, type OperatorValue, operatorValue } from "./command-operators.ts";
import type { FormatPart, JsonFormatNode, LogFormat } from "./types.ts";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function truncate(value: string, maxLength: number | undefined): string {
  return maxLength !== undefined && value.length > maxLength ? value.slice(0, maxLength) : value;
}

function partValue(part: FormatPart & { kind: "operator" }, info: StreamInfo): OperatorValue {
  const value = operatorValue(part.operator, info);
  return typeof value === "string" ? truncate(value, part.maxLength) : value;
}

/** Parts joined as text; `unset` replaces values that are not set (`-`, or "" when omitted). */
function renderText(parts: readonly FormatPart[], info: StreamInfo, unset: string): string {
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.kind === "text") out += part.text;
    else {
      const value = partValue(part, info);
      out += value === undefined ? unset : String(value);
    }
  }
  return out;
}

/** `undefined` result: the key is dropped (omit_empty_values). */
function renderJson(
  node: JsonFormatNode,
  info: StreamInfo,
  format: LogFormat & { kind: "json" },
): Json | undefined {
  switch (node.kind) {
    case "constant":
      return node.value;
    case "list":
      return node.items.map((item) => renderJson(item, info, format) ?? null);
    case "object": {
      const out: { [key: string]: Json } = {};
      for (const [key, child] of node.entries) {
        const value = renderJson(child, info, format);
        if (value !== undefined) out[key] = value;
      }
      return out;
    }
    case "format": {
      const { parts } = node;
      const only = parts.length === 1 ? parts[0]! : undefined;
      if (format.typed && only?.kind === "operator") {
        const value = partValue(only, info);
        if (value === undefined || value === "")
          return format.omitEmptyValues ? undefined : value === "" ? "" : null;
        return isNumericOperator(only.operator) ? value : String(value);
      }
      const text = renderText(parts, info, "-");
      return format.omitEmptyValues && (text === "" || (only && text === "-")) ? undefined : text;
    }
  }
}

/** The line a logger writes (JSON lines end with a newline, as Envoy's JSON formatter adds one). */
export function formatLog(format: LogFormat, info: StreamInfo): string {
  if (format.kind === "text")
    return renderText(format.parts, info, format.omitEmptyValues ? "" : "-");
  return `${JSON.stringify(renderJson(format.root, info, format) ?? {})}\n`;
}
