// CEL's matches() runs a regular expression. Envoy evaluates it with RE2, in linear time; the CEL
// library crema uses runs JavaScript's backtracking RegExp, which a hostile input can stall on a
// pattern such as (a+)+$. So crema refuses matches() wherever it reads CEL, and says why.

/** The shape of the parsed CEL tree this check walks (the library's AST nodes). */
interface CelAstNode {
  op: string;
  args: unknown;
  start?: number;
}

function isNode(value: unknown): value is CelAstNode {
  return typeof value === "object" && value !== null && "op" in value && "args" in value;
}

/** The 0-based position of the first matches() call in `ast`, or undefined. */
export function firstRegexCall(ast: unknown): number | undefined {
  if (Array.isArray(ast)) {
    for (const item of ast) {
      const found = firstRegexCall(item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isNode(ast)) return undefined;
  if (
    (ast.op === "call" || ast.op === "rcall") &&
    Array.isArray(ast.args) &&
    ast.args[0] === "matches"
  )
    return ast.start ?? 0;
  return firstRegexCall(ast.args);
}

export function regexCallProblem(position: number): string {
  return `matches() at character ${position + 1} is not supported: Envoy runs it with RE2, and crema will not run a backtracking regular expression on request data; use startsWith(), endsWith(), contains() or ==`;
}
