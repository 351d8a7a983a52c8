import { describe, expect, it } from "vitest";
import { ATTRIBUTE_GROUPS } from "./attributes.ts";
import { compileCelExpression } from "./compile.ts";

function compileError(expression: string): string {
  const compiled = compileCelExpression(expression);
  if (compiled.ok) throw new Error(`${expression} compiled`);
  return compiled.error;
}

describe("compileCelExpression", () => {
  it("compiles the CEL that Istio's docs and tag overrides use", () => {
    for (const expression of [
      "response.code >= 400",
      "response.code >= 400 || response.code == 0",
      "request.url_path.startsWith('/api') && request.headers['x-debug'] != 'off'",
      "(connection.mtls && request.headers['x-log-mtls'] == 'true') || request.url_path.contains('v1beta3')",
      "request.host",
      "string(destination.port)",
      "request.headers['x-user']",
      "size(request.path) > 3",
      "has(request.headers.foo)",
      "'x-foo' in request.headers",
      "request.method in ['GET', 'HEAD']",
      "response.code >= 500 ? 'error' : 'ok'",
      "int(request.headers['x-retries']) > 2",
      "request.duration > duration('1s')",
      "response.code >= 1.5",
    ]) {
      const compiled = compileCelExpression(expression);
      expect(compiled.ok ? undefined : compiled.error, expression).toBeUndefined();
      if (compiled.ok) expect(compiled.program.expression).toBe(expression);
    }
  });

  it("refuses matches(): no backtracking regular expression runs on request data", () => {
    expect(compileError("request.path.matches('(a+)+$')")).toMatch(
      /^matches\(\) at character 1 is not supported: Envoy runs it with RE2/,
    );
    expect(compileError("response.code == 200 && matches(request.host, 'x')")).toContain(
      "matches() at character 25",
    );
  });

  it("declares every attribute of every group", () => {
    for (const [name, group] of Object.entries(ATTRIBUTE_GROUPS)) {
      for (const attribute of Object.getOwnPropertyNames(group.prototype)) {
        if (attribute === "constructor") continue;
        const expression = `has(${name}.${attribute})`;
        expect(compileCelExpression(expression).ok, expression).toBe(true);
      }
    }
  });

  it("says where the syntax is wrong", () => {
    expect(compileError("")).toBe("the expression is empty");
    expect(compileError("   ")).toBe("the expression is empty");
    expect(compileError("response.code = 200")).toBe("Unexpected character: = at character 15");
    expect(compileError("(response.code == 200")).toContain("Expected RPAREN, got EOF");
    expect(compileError("request.method == 'GET")).toContain("Unterminated string");
    expect(compileError("response.code >=")).toContain("Unexpected token: EOF");
    expect(compileError("&& response.code")).toContain("at character 1");
  });

  it("rejects attributes crema cannot answer, naming them and the supported ones", () => {
    expect(compileError("connection.id > 0")).toMatch(
      /^attribute connection\.id at character 12 is not supported \(supported: request\.\{path, url_path/,
    );
    expect(compileError("response['flagz'] != 0")).toContain(
      "attribute response.flagz at character 1 is not supported",
    );
    expect(compileError("metadata.filter_metadata")).toContain(
      "attribute metadata at character 1 is not supported",
    );
    expect(compileError("connection.id > 0")).toContain("xds.{cluster_name, route_name}");
  });
});
