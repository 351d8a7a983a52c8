// The subset of CEL that Istio's access log filters use (envoy.access_loggers.extension_filters.cel):
// Envoy attributes such as response.code or request.url_path, literals, comparisons, `in`,
// `!`, `&&`, `||`, parentheses and string startsWith/endsWith/contains. Parsed into a tree once;
// anything outside the subset is a decode error, never evaluated.
import type { CelNode } from "./types.ts";

export type CelParse = { ok: true; root: CelNode } | { ok: false; error: string };

/** Envoy's attribute names crema can answer; maps are indexed as headers['x-name']. */
export const CEL_ATTRIBUTES: Readonly<Record<string, "string" | "int" | "bool" | "map">> = {
  "request.path": "string",
  "request.url_path": "string",
  "request.host": "string",
  "request.scheme": "string",
  "request.method": "string",
  "request.headers": "map",
  "request.useragent": "string",
  "request.id": "string",
  "request.protocol": "string",
  "request.referer": "string",
  "response.code": "int",
  "response.code_details": "string",
  "response.grpc_status": "int",
  "response.headers": "map",
  "response.trailers": "map",
  "response.size": "int",
  "connection.mtls": "bool",
  "connection.requested_server_name": "string",
  "connection.termination_details": "string",
  "connection.uri_san_peer_certificate": "string",
  "connection.uri_san_local_certificate": "string",
  "source.address": "string",
  "source.port": "int",
  "destination.address": "string",
  "destination.port": "int",
  "upstream.address": "string",
  "upstream.port": "int",
  "xds.cluster_name": "string",
  "xds.route_name": "string",
};

const METHODS = new Set(["startsWith", "endsWith", "contains"]);

type Token =
  | { t: "num"; v: number; at: number }
  | { t: "str"; v: string; at: number }
  | { t: "id"; v: string; at: number }
  | { t: "op"; v: string; at: number }
  | { t: "end"; at: number };

class CelError extends Error {}

const OPERATORS = [
  "&&",
  "||",
  "==",
  "!=",
  "<=",
  ">=",
  "<",
  ">",
  "!",
  "(",
  ")",
  "[",
  "]",
  ".",
  ",",
  "-",
];
const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  "\\": "\\",
  "'": "'",
  '"': '"',
};

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i + 1;
    if (c === '"' || c === "'") {
      let value = "";
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === "\n") break;
        if (text[i] === "\\") {
          const escaped = ESCAPES[text[i + 1] ?? ""];
          if (escaped === undefined)
            throw new CelError(`unsupported escape in the string at character ${at}`);
          value += escaped;
          i += 2;
        } else value += text[i++];
      }
      if (text[i] !== c) throw new CelError(`the string starting at character ${at} is not closed`);
      i++;
      tokens.push({ t: "str", v: value, at });
      continue;
    }
    const number = /^\d+/.exec(text.slice(i));
    if (number) {
      if (/^[.eExu]/.test(text.slice(i + number[0].length)))
        throw new CelError(`only integer literals are supported (character ${at})`);
      tokens.push({ t: "num", v: Number(number[0]), at });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (ident) {
      tokens.push({ t: "id", v: ident[0], at });
      i += ident[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) throw new CelError(`unexpected ${JSON.stringify(c)} at character ${at}`);
    tokens.push({ t: "op", v: op, at });
    i += op.length;
  }
  tokens.push({ t: "end", at: text.length + 1 });
  return tokens;
}

class Parser {
  private pos = 0;
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === "op" && t.v === v;
  }
  private expectOp(v: string): void {
    if (!this.isOp(v)) throw new CelError(`expected '${v}' at character ${this.peek().at}`);
    this.pos++;
  }

  parse(): CelNode {
    const root = this.or();
    const t = this.peek();
    if (t.t !== "end") throw new CelError(`unexpected input at character ${t.at}`);
    return root;
  }

  private or(): CelNode {
    let left = this.and();
    while (this.isOp("||")) {
      this.pos++;
      left = { kind: "or", left, right: this.and() };
    }
    return left;
  }

  private and(): CelNode {
    let left = this.relation();
    while (this.isOp("&&")) {
      this.pos++;
      left = { kind: "and", left, right: this.relation() };
    }
    return left;
  }

  private relation(): CelNode {
    const left = this.unary();
    const t = this.peek();
    if (t.t === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(t.v)) {
      this.pos++;
      const op = t.v as "==" | "!=" | "<" | "<=" | ">" | ">=";
      return { kind: "compare", op, left, right: this.unary() };
    }
    if (t.t === "id" && t.v === "in") {
      this.pos++;
      return { kind: "in", left, right: this.unary() };
    }
    return left;
  }

  private unary(): CelNode {
    if (this.isOp("!")) {
      this.pos++;
      return { kind: "not", operand: this.unary() };
    }
    if (this.isOp("-")) {
      this.pos++;
      const t = this.peek();
      if (t.t !== "num")
        throw new CelError(`'-' only negates integer literals (character ${t.at})`);
      this.pos++;
      return { kind: "literal", value: -t.v };
    }
    return this.member();
  }

  private member(): CelNode {
    let node = this.primary();
    for (;;) {
      if (this.isOp(".")) {
        this.pos++;
        const t = this.peek();
        if (t.t !== "id") throw new CelError(`expected a name after '.' at character ${t.at}`);
        this.pos++;
        if (this.isOp("(")) {
          if (!METHODS.has(t.v))
            throw new CelError(
              `function ${t.v}() is not supported (only startsWith, endsWith, contains)`,
            );
          this.pos++;
          const args = this.args(")");
          if (args.length !== 1) throw new CelError(`${t.v}() takes one argument`);
          node = {
            kind: "call",
            method: t.v as "startsWith" | "endsWith" | "contains",
            target: node,
            args,
          };
        } else if (node.kind === "attribute") {
          node = { kind: "attribute", path: [...node.path, t.v] };
        } else throw new CelError(`field selection .${t.v} is only supported on attributes`);
      } else if (this.isOp("[")) {
        this.pos++;
        const key = this.peek();
        if (node.kind !== "attribute" || key.t !== "str")
          throw new CelError(
            `only attribute maps indexed by a string are supported (character ${key.at})`,
          );
        this.pos++;
        this.expectOp("]");
        node = { kind: "attribute", path: [...node.path, key.v] };
      } else return node;
    }
  }

  private args(close: string): CelNode[] {
    const items: CelNode[] = [];
    if (this.isOp(close)) {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.or());
      if (this.isOp(close)) {
        this.pos++;
        return items;
      }
      this.expectOp(",");
    }
  }

  private primary(): CelNode {
    const t = this.peek();
    this.pos++;
    switch (t.t) {
      case "num":
      case "str":
        return { kind: "literal", value: t.v };
      case "id":
        if (t.v === "true" || t.v === "false") return { kind: "literal", value: t.v === "true" };
        if (t.v === "null") return { kind: "literal", value: null };
        return { kind: "attribute", path: [t.v] };
      case "op":
        if (t.v === "(") {
          const inner = this.or();
          this.expectOp(")");
          return inner;
        }
        if (t.v === "[") return { kind: "list", items: this.args("]") };
        throw new CelError(`unexpected '${t.v}' at character ${t.at}`);
      case "end":
        throw new CelError("the expression ends too early");
    }
  }
}

/** Every attribute must be a known one; maps need exactly one key. */
function checkAttributes(node: CelNode): void {
  switch (node.kind) {
    case "attribute": {
      const full = node.path.join(".");
      const base = node.path.slice(0, 2).join(".");
      const type = CEL_ATTRIBUTES[base];
      if (type === "map" ? node.path.length === 3 : type !== undefined && node.path.length === 2)
        return;
      if (type === "map")
        throw new CelError(`${base} must be indexed by one name, as in ${base}['x-name']`);
      throw new CelError(
        `attribute ${full} is not supported (supported: ${Object.keys(CEL_ATTRIBUTES).join(", ")})`,
      );
    }
    case "not":
      checkAttributes(node.operand);
      return;
    case "and":
    case "or":
    case "compare":
    case "in":
      checkAttributes(node.left);
      checkAttributes(node.right);
      return;
    case "list":
      for (const item of node.items) checkAttributes(item);
      return;
    case "call":
      checkAttributes(node.target);
      for (const arg of node.args) checkAttributes(arg);
      return;
    case "literal":
      return;
  }
}

/** Parses a CEL filter expression; errors say what is outside the supported subset. */
export function parseCelExpression(expression: string): CelParse {
  if (expression.trim() === "") return { ok: false, error: "the expression is empty" };
  try {
    const root = new Parser(tokenize(expression)).parse();
    checkAttributes(root);
    return { ok: true, root };
  } catch (error) {
    if (error instanceof CelError) return { ok: false, error: error.message };
    throw error;
  }
}
