// envoy.path.match.uri_template.uri_template_matcher: a path template (`/videos/*/{id}/**`)
// parsed with Envoy's rules (uri_template_lib) and compiled once into an anchored regex over the
// path without its query and fragment. `*` is one segment, `**` any number (the last glob),
// `{name}` / `{name=…}` a variable; Istio's `{*}` / `{**}` must be sent as `*` / `**`.

/** RFC 3986 pchar minus `*` and `=` (Envoy's kLiteral). */
const PCHAR = "A-Za-z0-9._~%!$&'()+,;:@\\-";
const LITERAL = new RegExp(`^[${PCHAR}]+$`);
const SEGMENT_GLOB = `[${PCHAR}]+`;
const TEXT_GLOB = `[/${PCHAR}]*`;
const VARIABLE_NAME = /^[a-zA-Z][a-zA-Z0-9_]*$/;
const PRINTABLE = /^\/[!-~]*$/;
const MAX_VARIABLES = 5;
const MAX_VARIABLE_NAME = 16;

type Glob = "*" | "**";
type Part = { glob: Glob } | { literal: string };
type Segment = Part | { variable: string; match: Part[] };

export type UriTemplateCompile = { ok: true; regex: RegExp } | { ok: false; reason: string };

class TemplateError extends Error {}

function escapeLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Consumes a glob or a literal up to the next "/" from `rest`; returns it and what is left. */
function consumePart(rest: string): [Part, string] {
  if (rest.startsWith("**")) return [{ glob: "**" }, rest.slice(2)];
  if (rest.startsWith("*")) return [{ glob: "*" }, rest.slice(1)];
  const slash = rest.indexOf("/");
  const literal = slash < 0 ? rest : rest.slice(0, slash);
  if (!LITERAL.test(literal)) throw new TemplateError(`invalid literal ${JSON.stringify(literal)}`);
  return [{ literal }, rest.slice(literal.length)];
}

function consumeVariable(rest: string): [Segment, string] {
  const close = rest.indexOf("}");
  if (rest.length < 2 || close < 0) throw new TemplateError("unmatched variable bracket");
  const inner = rest.slice(1, close);
  const eq = inner.indexOf("=");
  const name = eq < 0 ? inner : inner.slice(0, eq);
  if (name === "*" || name === "**") {
    throw new TemplateError(`{${name}} is Istio's syntax; an Envoy template writes ${name}`);
  }
  if (!VARIABLE_NAME.test(name)) {
    throw new TemplateError(`invalid variable name ${JSON.stringify(name)}`);
  }
  const match: Part[] = [];
  if (eq >= 0) {
    let pattern = inner.slice(eq + 1);
    if (pattern === "") throw new TemplateError(`empty match for variable ${name}`);
    while (pattern !== "") {
      const [part, left] = consumePart(pattern);
      match.push(part);
      pattern = left;
      if (pattern === "") break;
      if (pattern[0] !== "/" || pattern.length === 1) {
        throw new TemplateError(`invalid match for variable ${name}`);
      }
      pattern = pattern.slice(1);
    }
  }
  return [{ variable: name, match }, rest.slice(close + 1)];
}

function parse(template: string): { segments: Segment[]; suffix: string } {
  if (!PRINTABLE.test(template)) {
    throw new TemplateError('must start with "/" and hold only printable ASCII');
  }
  const segments: Segment[] = [];
  let suffix = "";
  let rest = template.slice(1);
  while (rest !== "") {
    const [segment, left] = rest[0] === "{" ? consumeVariable(rest) : consumePart(rest);
    segments.push(segment);
    rest = left;
    if (rest === "") break;
    if (rest === "/") {
      segments.push({ literal: "" });
      break;
    }
    if (rest[0] === "/") {
      rest = rest.slice(1);
      continue;
    }
    // Text right after a glob or variable, up to the end: a suffix such as ".m3u8".
    const [tail, after] = consumePart(rest);
    if (!("literal" in tail) || after !== "") {
      throw new TemplateError("only a literal suffix may follow a glob or variable");
    }
    suffix = tail.literal;
    break;
  }
  validate(segments);
  return { segments, suffix };
}

function validate(segments: Segment[]): void {
  const names = new Set<string>();
  let afterTextGlob = false;
  const glob = (g: Glob): void => {
    if (afterTextGlob) throw new TemplateError('a glob may not follow "**"');
    afterTextGlob = g === "**";
  };
  for (const segment of segments) {
    if ("glob" in segment) glob(segment.glob);
    if (!("variable" in segment)) continue;
    const name = segment.variable;
    if (names.size >= MAX_VARIABLES) {
      throw new TemplateError(`more than ${MAX_VARIABLES} variables`);
    }
    if (name.length > MAX_VARIABLE_NAME) {
      throw new TemplateError(`variable name ${name} is longer than ${MAX_VARIABLE_NAME}`);
    }
    if (names.has(name)) throw new TemplateError(`repeated variable name ${name}`);
    names.add(name);
    if (segment.match.length === 0 && afterTextGlob) {
      throw new TemplateError(`variable ${name} (one segment) may not follow "**"`);
    }
    for (const part of segment.match) if ("glob" in part) glob(part.glob);
  }
}

function partRegex(part: Part): string {
  if ("literal" in part) return escapeLiteral(part.literal);
  return part.glob === "**" ? TEXT_GLOB : SEGMENT_GLOB;
}

function segmentRegex(segment: Segment): string {
  if (!("variable" in segment)) return partRegex(segment);
  return segment.match.length === 0
    ? `(?:${SEGMENT_GLOB})`
    : `(?:${segment.match.map(partRegex).join("/")})`;
}

/** Compiles an Envoy path template into a full-match regex, or the reason it is invalid. */
export function compileUriTemplate(template: string): UriTemplateCompile {
  try {
    const { segments, suffix } = parse(template);
    const source = `^/${segments.map(segmentRegex).join("/")}${escapeLiteral(suffix)}$`;
    return { ok: true, regex: new RegExp(source) };
  } catch (error) {
    if (error instanceof TemplateError) return { ok: false, reason: error.message };
    throw error;
  }
}
