// Envoy's substitution format strings ("[%START_TIME%] %REQ(:METHOD)% …") compiled once into
// parts, with Envoy's parse errors: a `%` that starts no valid command, or an unknown operator.
import { HEADER_OPERATORS, isFieldOperator } from "./command-operators.ts";
import type { CommandOperator, FormatPart } from "./types.ts";

export type FormatParse = { ok: true; parts: FormatPart[] } | { ok: false; error: string };

/** Envoy's command token: NAME, optional (ARGS) without ")", optional :MAX_LENGTH, closing %. */
const COMMAND = /%([A-Z0-9_]+)(?:\(([^)]*)\))?(?::(\d+))?%/y;
const GRPC_STYLES = ["CAMEL_STRING", "SNAKE_STRING", "NUMBER"] as const;

function compileOperator(
  name: string,
  args: string | undefined,
): { ok: true; operator: CommandOperator } | { ok: false; error: string } {
  const source = HEADER_OPERATORS[name];
  if (source !== undefined) {
    if (args === undefined || args === "")
      return { ok: false, error: `%${name}% needs a header name, as in %${name}(X-REQUEST-ID)%` };
    const names = args.split("?");
    if (names.length > 2)
      return { ok: false, error: `%${name}(${args})% names more than one alternative header` };
    if (names.some((n) => n === "" || /[\0\r\n]/.test(n)))
      return { ok: false, error: `%${name}(${args})% has an invalid header name` };
    return {
      ok: true,
      operator: {
        kind: "header",
        source,
        main: names[0]!.toLowerCase(),
        alternative: names[1]?.toLowerCase(),
      },
    };
  }
  if (name === "START_TIME") return { ok: true, operator: { kind: "start_time", format: args } };
  if (name === "GRPC_STATUS") {
    const style = args === undefined || args === "" ? "CAMEL_STRING" : args;
    if (!(GRPC_STYLES as readonly string[]).includes(style))
      return {
        ok: false,
        error: `%GRPC_STATUS(${args})%: the argument is one of ${GRPC_STYLES.join(", ")}`,
      };
    return {
      ok: true,
      operator: { kind: "grpc_status", style: style as (typeof GRPC_STYLES)[number] },
    };
  }
  if (isFieldOperator(name)) {
    if (args !== undefined)
      return { ok: false, error: `%${name}% takes no argument; write %${name}%` };
    return { ok: true, operator: { kind: "field", name } };
  }
  return {
    ok: false,
    error: `unknown command operator %${name}% (see "Access logs" in docs/observability.md for the supported ones)`,
  };
}

/** Compiles `format`; every `%` must start a known command operator or be `%%`. */
export function parseFormatString(format: string): FormatParse {
  const parts: FormatPart[] = [];
  let text = "";
  let pos = 0;
  while (pos < format.length) {
    const percent = format.indexOf("%", pos);
    if (percent < 0) {
      text += format.slice(pos);
      break;
    }
    text += format.slice(pos, percent);
    if (format[percent + 1] === "%") {
      text += "%";
      pos = percent + 2;
      continue;
    }
    COMMAND.lastIndex = percent;
    const match = COMMAND.exec(format);
    if (!match) {
      return {
        ok: false,
        error: `no valid command operator at character ${percent + 1} (write %% for a literal %)`,
      };
    }
    const compiled = compileOperator(match[1]!, match[2]);
    if (!compiled.ok) return compiled;
    if (text) parts.push({ kind: "text", text });
    text = "";
    parts.push({
      kind: "operator",
      operator: compiled.operator,
      maxLength: match[3] === undefined ? undefined : Number(match[3]),
    });
    pos = COMMAND.lastIndex;
  }
  if (text) parts.push({ kind: "text", text });
  return { ok: true, parts };
}

/** Envoy's default format (used when a logger names none). */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% " +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';
