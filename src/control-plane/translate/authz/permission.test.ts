import { describe, expect, it } from "vitest";
import { RuleProblem } from "./matchers.ts";
import {
  DESTINATION_PORT,
  ENVOY_FILTER_METADATA,
  envoyPathTemplate,
  HOSTS,
  METHODS,
  PATHS,
  pathPermission,
  pathTemplateRegex,
  URI_TEMPLATE_TYPE,
} from "./permission.ts";

const each = (g: typeof HOSTS, key: string, value: string, tcp = false) => {
  if (g.kind !== "each") throw new Error("not a per-value generator");
  return g.build(key, value, tcp);
};

describe("path permissions", () => {
  it("match url_path with Istio's wildcards", () => {
    expect(pathPermission("/a/*")).toEqual({ url_path: { path: { prefix: "/a/" } } });
    expect(pathPermission("*")).toEqual({ url_path: { path: { safe_regex: { regex: ".+" } } } });
  });

  it("turn {*} and {**} into Envoy's URI template when its proto is loaded", () => {
    expect(envoyPathTemplate("/api/{*}/x/{**}")).toBe("/api/*/x/**");
    expect(pathPermission("/api/{*}/items", () => true)).toEqual({
      uri_template: {
        name: "uri-template",
        typed_config: {
          "@type": `type.googleapis.com/${URI_TEMPLATE_TYPE}`,
          path_template: "/api/*/items",
        },
      },
    });
  });

  it("fall back to the regex the template compiles to", () => {
    const permission = pathPermission("/api/{*}/v1.0/{**}", () => false);
    const regex = (permission.url_path as { path: { safe_regex: { regex: string } } }).path
      .safe_regex.regex;
    expect(regex).toBe(pathTemplateRegex("/api/*/v1.0/**"));
    const re = new RegExp(`^(?:${regex})$`);
    expect(re.test("/api/orders/v1.0/a/b/c")).toBe(true);
    expect(re.test("/api/orders/v1.0/")).toBe(true);
    expect(re.test("/api/a/b/v1.0/x")).toBe(false);
    expect(re.test("/api//v1.0/x")).toBe(false);
    expect(re.test("/api/orders/v1x0/x")).toBe(false);
  });
});

describe("permission generators", () => {
  it("refuse HTTP attributes on TCP", () => {
    expect(each(HOSTS, ":authority", "a.com", true)).toBeInstanceOf(RuleProblem);
    expect(each(METHODS, ":method", "GET", true)).toBeInstanceOf(RuleProblem);
    expect(each(PATHS, "path-matcher", "/", true)).toBeInstanceOf(RuleProblem);
    expect(each(DESTINATION_PORT, "destination.port", "80", true)).toEqual({
      destination_port: 80,
    });
  });

  it("reject a port that is not 0–65535", () => {
    expect(each(DESTINATION_PORT, "destination.port", "65536")).toBeInstanceOf(RuleProblem);
    expect(each(DESTINATION_PORT, "destination.port", "http")).toBeInstanceOf(RuleProblem);
  });

  it("read experimental.envoy.filters keys as filter metadata, [v] as a list element", () => {
    if (ENVOY_FILTER_METADATA.kind !== "all") throw new Error("expected a list generator");
    expect(
      ENVOY_FILTER_METADATA.build("experimental.envoy.filters.a.b[c]", ["[x]"], false),
    ).toEqual({
      metadata: {
        filter: "envoy.filters.a.b",
        path: [{ key: "c" }],
        value: { list_match: { one_of: { string_match: { exact: "x" } } } },
      },
    });
    expect(
      ENVOY_FILTER_METADATA.build("experimental.envoy.filters.a.b", ["x"], false),
    ).toBeInstanceOf(RuleProblem);
  });
});
