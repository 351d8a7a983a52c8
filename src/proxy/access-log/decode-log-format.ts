// SubstitutionFormatString (text_format_source, text_format, json_format) and the file logger's
// legacy format fields → a compiled LogFormat; a bad command operator is a decode error (NACK).
import { type Fields, isObject } from "../routing/decode-reader.ts";
import { ENVOY_DEFAULT_FORMAT, parseFormatString } from "./format-string.ts";
import type { FormatPart, JsonFormatNode, LogFormat } from "./types.ts";

const FORMATS = ["text_format", "json_format", "text_format_source"] as const;

/** Compiles `text`, reporting a parse error at `path`. */
export function compileFormatParts(text: string, errors: string[], path: string): FormatPart[] {
  const parsed = parseFormatString(text);
  if (parsed.ok) return parsed.parts;
  errors.push(`${path}: ${parsed.error}`);
  return [];
}

/** Envoy's default format, as a logger without a format uses it. */
export function defaultLogFormat(): LogFormat {
  return {
    kind: "text",
    parts: compileFormatParts(ENVOY_DEFAULT_FORMAT, [], ""),
    omitEmptyValues: false,
  };
}

function compileJsonNode(
  value: unknown,
  errors: string[],
  path: string,
  sort: boolean,
): JsonFormatNode {
  if (typeof value === "string")
    return { kind: "format", parts: compileFormatParts(value, errors, path) };
  if (typeof value === "number" || typeof value === "boolean" || value === null)
    return { kind: "constant", value };
  if (Array.isArray(value))
    return {
      kind: "list",
      items: value.map((v, i) => compileJsonNode(v, errors, `${path}[${i}]`, sort)),
    };
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (sort) keys.sort();
    return {
      kind: "object",
      entries: keys.map(
        (k) => [k, compileJsonNode(value[k], errors, `${path}.${k}`, sort)] as const,
      ),
    };
  }
  errors.push(`${path}: expected a format string, a number, a boolean, an object or a list`);
  return { kind: "constant", value: null };
}

/** A json_format Struct; `typed` keeps numbers and nulls for values that are one operator. */
export function compileJsonFormat(
  f: Fields,
  field: string,
  options: { typed: boolean; omitEmptyValues: boolean; sortProperties?: boolean },
): LogFormat {
  const json = f.json(field) ?? {};
  return {
    kind: "json",
    root: compileJsonNode(json, f.ctx.errors, f.at(field), options.sortProperties ?? false),
    typed: options.typed,
    omitEmptyValues: options.omitEmptyValues,
  };
}

/** config.core.v3.DataSource holding a format string: inline_string or inline_bytes. */
function decodeTextSource(f: Fields): string {
  const which = f.oneof(["inline_string", "inline_bytes", "filename", "environment_variable"]);
  f.skip("watched_directory");
  let text = "";
  if (which === "inline_string") text = f.string("inline_string");
  else if (which === "inline_bytes") {
    const raw = f.string("inline_bytes");
    text = Buffer.from(raw, "base64").toString("utf8");
  } else if (which === "filename" || which === "environment_variable") {
    f.unsupported(
      which,
      `${which} data sources are not supported; inline the format with inline_string`,
    );
  } else f.error("one of inline_string, inline_bytes is required");
  f.finish();
  return text;
}

/** config.core.v3.SubstitutionFormatString. */
export function decodeSubstitutionFormat(f: Fields): LogFormat {
  const omitEmptyValues = f.bool("omit_empty_values");
  f.skip("content_type"); // only local replies use it
  const options = f.object("json_format_options");
  const sortProperties = options?.bool("sort_properties") ?? false;
  options?.finish();
  if (f.list("formatters").length > 0)
    f.error(
      "formatter extensions (such as envoy.formatter.req_without_query) are not supported",
      "formatters",
    );
  const which = f.oneof(FORMATS);
  let format: LogFormat = { kind: "text", parts: [], omitEmptyValues };
  if (which === "text_format") {
    const text = f.string("text_format");
    format = {
      kind: "text",
      parts: compileFormatParts(text, f.ctx.errors, f.at("text_format")),
      omitEmptyValues,
    };
  } else if (which === "text_format_source") {
    const source = f.object("text_format_source");
    const text = source ? decodeTextSource(source) : "";
    const path = source?.has("inline_bytes") ? "inline_bytes" : "inline_string";
    format = {
      kind: "text",
      parts: compileFormatParts(text, f.ctx.errors, f.at(`text_format_source.${path}`)),
      omitEmptyValues,
    };
  } else if (which === "json_format") {
    format = compileJsonFormat(f, "json_format", { typed: true, omitEmptyValues, sortProperties });
  } else f.error(`one of ${FORMATS.join(", ")} is required`);
  f.skip(...FORMATS); // the other members of a reported oneof conflict
  f.finish();
  return format;
}
