import { describe, expect, it } from "vitest";
import { parseCelExpression } from "./cel-expression.ts";
import { evaluateCel } from "./evaluate-cel.ts";
import { httpStreamInfo, tcpStreamInfo } from "./testing.ts";

function evaluate(expression: string, info = httpStreamInfo()): boolean {
  const parsed = parseCelExpression(expression);
  if (!parsed.ok) throw new Error(parsed.error);
  return evaluateCel(parsed.root, info);
}

describe("CEL access log filters", () => {
  it("evaluate the expressions Istio's docs use", () => {
    expect(evaluate("response.code >= 400")).toBe(false);
    expect(evaluate("response.code >= 400", httpStreamInfo({ responseCode: 503 }))).toBe(true);
    expect(evaluate("response.code == 200")).toBe(true);
    expect(evaluate('request.method == "GET"')).toBe(true);
    expect(evaluate("request.url_path.startsWith('/api')")).toBe(true);
    expect(evaluate("request.url_path.endsWith('items')")).toBe(true);
    expect(evaluate("request.path.contains('page=2')")).toBe(true);
    expect(evaluate("connection.mtls")).toBe(false);
    expect(
      evaluate("connection.mtls", httpStreamInfo({ downstreamPeerUriSan: "spiffe://x" } as never)),
    ).toBe(true);
  });

  it("combine with !, &&, ||, parentheses, != and in", () => {
    expect(evaluate("!(response.code == 200) || request.method != 'GET'")).toBe(false);
    expect(evaluate("response.code == 200 && (request.host == 'shop.example.com' || false)")).toBe(
      true,
    );
    expect(evaluate("request.method in ['GET', 'HEAD']")).toBe(true);
    expect(evaluate("response.code in [500, 503]")).toBe(false);
    expect(evaluate("request.headers['user-agent'].startsWith('curl')")).toBe(true);
    expect(evaluate("response.code > -1 && response.code < 300 && response.code <= 200")).toBe(
      true,
    );
  });

  it("treat errors as false, and absorb them in && and || as CEL does", () => {
    const tcp = tcpStreamInfo();
    expect(evaluate("request.method == 'GET'", tcp)).toBe(false);
    expect(evaluate("!(request.method == 'GET')", tcp)).toBe(false);
    expect(evaluate("request.method == 'GET' || response.code == 0", tcp)).toBe(true);
    expect(evaluate("request.method == 'GET' && response.code == 0", tcp)).toBe(false);
    expect(evaluate("response.code == '200'")).toBe(false);
  });

  it("reject everything outside the subset with a reason", () => {
    for (const [expression, reason] of [
      ["", "empty"],
      ["response.code = 200", "unexpected"],
      ["response.code >= 1.5", "only integer literals"],
      ["size(request.path) > 1", "unexpected input"],
      ["request.path.matches('x')", "function matches() is not supported"],
      ["request.headers", "must be indexed by one name"],
      ["response.flags != 0", "attribute response.flags is not supported"],
      ["request.method == 'GET", "not closed"],
      ["(response.code == 200", "expected ')'"],
    ] as const) {
      const parsed = parseCelExpression(expression);
      expect(parsed.ok, expression).toBe(false);
      if (!parsed.ok) expect(parsed.error, expression).toContain(reason);
    }
  });
});
