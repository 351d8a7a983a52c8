// Syntax sanity check for CEL access-log filters (Istio rejects expressions cel-go cannot parse).
const OPENERS: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
const CLOSERS = new Set([")", "]", "}"]);
const TRAILING_OPERATOR = /(&&|\|\||==|!=|<=|>=|[<>+\-*/%!?:])\s*$/;
const LEADING_OPERATOR = /^\s*(&&|\|\||==|!=|<=|>=|[<>*/%?:,])/;

/** Skips a string literal starting at `start` (the quote); returns the index after it, or -1. */
function skipString(text: string, start: number, raw: boolean): number {
  const quote = text[start]!;
  const triple = text.startsWith(quote.repeat(3), start);
  const close = triple ? quote.repeat(3) : quote;
  let i = start + close.length;
  while (i < text.length) {
    if (!raw && text[i] === "\\") {
      i += 2;
      continue;
    }
    if (!triple && text[i] === "\n") return -1;
    if (text.startsWith(close, i)) return i + close.length;
    i++;
  }
  return -1;
}

/** Reason a CEL expression cannot parse, or undefined when no problem was found. */
export function celSyntaxProblem(expression: string): string | undefined {
  if (expression.trim() === "") return "the expression is empty";
  const stack: string[] = [];
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i]!;
    if (c === '"' || c === "'") {
      const raw = i > 0 && /[rR]/.test(expression[i - 1]!) && !/\w/.test(expression[i - 2] ?? "");
      const end = skipString(expression, i, raw);
      if (end < 0) return `the string starting at character ${i + 1} is not closed`;
      i = end - 1;
    } else if (OPENERS[c]) {
      stack.push(OPENERS[c]);
    } else if (CLOSERS.has(c)) {
      const expected = stack.pop();
      if (expected !== c) return `unbalanced '${c}' at character ${i + 1}`;
    } else if (c === "=") {
      const prev = expression[i - 1] ?? "";
      const next = expression[i + 1] ?? "";
      if (next === "=") i++;
      else if (!"!<>".includes(prev) || prev === "") {
        return `'=' at character ${i + 1} is not a CEL operator; compare with '=='`;
      }
    }
  }
  if (stack.length > 0) return `'${stack.at(-1)}' is missing at the end`;
  if (TRAILING_OPERATOR.test(expression)) return "the expression ends with an operator";
  if (LEADING_OPERATOR.test(expression)) return "the expression starts with an operator";
  return undefined;
}
