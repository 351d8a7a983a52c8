// request/response_headers_to_add / _to_remove (core.v3.HeaderValueOption) decoded once, and
// applied as Envoy's HeaderParser::evaluateHeaders: removals first, then every value is formatted
// against the headers as they stand, overwrites are applied, then appends. Values may hold
// `%COMMAND%` formatter variables; the known ones render from a context, others stay as written.
import type { Fields } from "./decode-reader.ts";
import { firstHeader, isValidHeaderName } from "./header-matcher.ts";
import type {
  FormatPart,
  HeaderAddition,
  HeaderAppendAction,
  HeaderMutation,
  MutableHeaders,
  RequestHeaders,
} from "./types.ts";

export const NO_MUTATION: HeaderMutation = { remove: [], add: [] };

const ACTIONS: readonly HeaderAppendAction[] = [
  "APPEND_IF_EXISTS_OR_ADD",
  "ADD_IF_ABSENT",
  "OVERWRITE_IF_EXISTS_OR_ADD",
  "OVERWRITE_IF_EXISTS",
];

// Envoy's substitution-format command: %NAME%, %NAME(arg)%, %NAME(arg):LEN%.
const COMMAND = /%([A-Z]|[A-Z][A-Z0-9_]*[A-Z0-9])(?:\(([^)]*)\))?(?::(\d+))?%/y;
const BAD_VALUE = /[\0\r\n]/;

/** Parses a header value template; a string is the reason it is malformed. */
export function parseHeaderFormat(value: string): FormatPart[] | string {
  const parts: FormatPart[] = [];
  let literal = "";
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c !== "%") {
      literal += c;
      i++;
    } else if (value[i + 1] === "%") {
      literal += "%";
      i += 2;
    } else {
      COMMAND.lastIndex = i;
      const m = COMMAND.exec(value);
      if (!m) return `no valid %COMMAND% at position ${i} (write %% for a literal %)`;
      if (literal) parts.push(literal);
      literal = "";
      parts.push(
        m[2] === undefined
          ? { command: m[1]!, raw: m[0] }
          : { command: m[1]!, arg: m[2], raw: m[0] },
      );
      i = COMMAND.lastIndex;
    }
  }
  if (literal || parts.length === 0) parts.push(literal);
  return parts;
}

/** Envoy's isModifiableHeader / isRemovableHeader: no pseudo-headers, no `host`. */
function headerNameProblem(name: string): string | undefined {
  if (!isValidHeaderName(name)) return `${JSON.stringify(name)} is not a valid header name`;
  if (name.startsWith(":") || name.toLowerCase() === "host") {
    return ":-prefixed or host headers may not be modified";
  }
  return undefined;
}

function decodeAddition(f: Fields): HeaderAddition | undefined {
  const errors = f.ctx.errors.length;
  const header = f.object("header");
  if (!header) f.error("is required", "header");
  const name = header?.string("key", 1) ?? "";
  const problem = name ? headerNameProblem(name) : undefined;
  if (problem) header?.error(problem, "key");
  let value = header?.string("value") ?? "";
  const raw = header?.string("raw_value") ?? "";
  if (value && raw) header?.error("only one of value or raw_value may be set");
  if (raw) value = Buffer.from(raw, "base64").toString("latin1");
  header?.finish();
  if (value.length > 16384) f.error("header values are at most 16384 bytes", "header.value");
  if (BAD_VALUE.test(value)) f.error("header values may not contain NUL, CR or LF", "header.value");
  const parts = parseHeaderFormat(value);
  if (typeof parts === "string") f.error(parts, "header.value");
  const append = f.optBool("append");
  let action = f.enumValue("append_action", ACTIONS);
  if (append !== undefined) {
    if (action !== "APPEND_IF_EXISTS_OR_ADD") f.error("both append and append_action are set");
    action = append ? "APPEND_IF_EXISTS_OR_ADD" : "OVERWRITE_IF_EXISTS_OR_ADD";
  }
  const keepEmptyValue = f.bool("keep_empty_value");
  f.finish();
  if (f.ctx.errors.length !== errors || typeof parts === "string") return undefined;
  return { name: name.toLowerCase(), parts, action, keepEmptyValue };
}

/** Decodes one level's `<addField>` and `<removeField>` lists. */
export function decodeHeaderMutation(
  f: Fields,
  addField: string,
  removeField: string,
): HeaderMutation {
  const add: HeaderAddition[] = [];
  const items = f.objects(addField);
  if (items.length > 1000) f.error("at most 1000 headers may be added", addField);
  for (const item of items) {
    const addition = decodeAddition(item);
    if (addition) add.push(addition);
  }
  const remove: string[] = [];
  for (const [name, path] of f.list(removeField)) {
    const problem = typeof name === "string" ? headerNameProblem(name) : "expected a string";
    if (problem) f.ctx.errors.push(`${path}: ${problem.replace("modified", "removed")}`);
    else remove.push((name as string).toLowerCase());
  }
  return add.length === 0 && remove.length === 0 ? NO_MUTATION : { remove, add };
}

/** What formatter variables render from; absent facts render as "". */
export interface HeaderFormatContext {
  /** "ip:port" of the downstream peer ("[v6]:port" for IPv6). */
  downstreamRemoteAddress?: string;
  downstreamLocalAddress?: string;
  upstreamCluster?: string;
  hostname?: string;
  protocol?: string;
  requestHeaders?: RequestHeaders;
  responseHeaders?: RequestHeaders;
}

const EMPTY_CONTEXT: HeaderFormatContext = {};

function withoutPort(address: string | undefined): string {
  if (address === undefined) return "";
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    return end < 0 ? address : address.slice(1, end);
  }
  const colon = address.lastIndexOf(":");
  return colon < 0 || address.indexOf(":") !== colon ? address : address.slice(0, colon);
}

function headerCommand(headers: RequestHeaders | undefined, arg: string | undefined): string {
  if (headers === undefined || arg === undefined) return "";
  for (const name of arg.split("?")) {
    const value = firstHeader(headers, name.toLowerCase());
    if (value !== undefined) return value;
  }
  return "";
}

function renderCommand(part: Exclude<FormatPart, string>, ctx: HeaderFormatContext): string {
  switch (part.command) {
    case "DOWNSTREAM_REMOTE_ADDRESS":
    case "DOWNSTREAM_DIRECT_REMOTE_ADDRESS":
      return ctx.downstreamRemoteAddress ?? "";
    case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
    case "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT":
      return withoutPort(ctx.downstreamRemoteAddress);
    case "DOWNSTREAM_LOCAL_ADDRESS":
      return ctx.downstreamLocalAddress ?? "";
    case "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT":
      return withoutPort(ctx.downstreamLocalAddress);
    case "UPSTREAM_CLUSTER":
      return ctx.upstreamCluster ?? "";
    case "HOSTNAME":
      return ctx.hostname ?? "";
    case "PROTOCOL":
      return ctx.protocol ?? "";
    case "REQ":
      return headerCommand(ctx.requestHeaders, part.arg);
    case "RESP":
      return headerCommand(ctx.responseHeaders, part.arg);
    default:
      return part.raw;
  }
}

export function renderHeaderValue(parts: readonly FormatPart[], ctx: HeaderFormatContext): string {
  if (parts.length === 1 && typeof parts[0] === "string") return parts[0];
  let out = "";
  for (const part of parts) out += typeof part === "string" ? part : renderCommand(part, ctx);
  return out;
}

function present(headers: MutableHeaders, name: string): boolean {
  const value = headers[name];
  return value !== undefined && (typeof value === "string" || value.length > 0);
}

/**
 * Applies one level's mutation to `headers` in place (removals, then overwrites, then appends)
 * and returns it. Touches nothing else.
 */
export function applyHeaderMutation(
  headers: MutableHeaders,
  mutation: HeaderMutation,
  ctx: HeaderFormatContext = EMPTY_CONTEXT,
): MutableHeaders {
  for (const name of mutation.remove) delete headers[name];
  if (mutation.add.length === 0) return headers;
  let sets: string[] | undefined;
  let adds: string[] | undefined;
  for (const a of mutation.add) {
    const value = renderHeaderValue(a.parts, ctx);
    if (value === "" && !a.keepEmptyValue) continue;
    if (a.action === "ADD_IF_ABSENT" && present(headers, a.name)) continue;
    if (a.action === "OVERWRITE_IF_EXISTS" && !present(headers, a.name)) continue;
    if (a.action === "APPEND_IF_EXISTS_OR_ADD" || a.action === "ADD_IF_ABSENT") {
      if (adds === undefined) adds = [];
      adds.push(a.name, value);
    } else {
      if (sets === undefined) sets = [];
      sets.push(a.name, value);
    }
  }
  if (sets) for (let i = 0; i < sets.length; i += 2) headers[sets[i]!] = sets[i + 1]!;
  if (adds) {
    for (let i = 0; i < adds.length; i += 2) {
      const name = adds[i]!;
      const value = adds[i + 1]!;
      const existing = headers[name];
      if (typeof existing === "string") headers[name] = [existing, value];
      else
        headers[name] =
          existing === undefined || existing.length === 0 ? value : [...existing, value];
    }
  }
  return headers;
}
