// Virtual host selection: Envoy's domain search order, wildcards, ports.
import { describe, expect, it } from "vitest";
import { selectRoute } from "./select-route.ts";
import { compileRoutes, request } from "./testing.ts";
import { findVirtualHost, portStart, stripPort } from "./virtual-host-select.ts";

const route = [{ match: { prefix: "/" }, route: { cluster: "c" } }];
const vhost = (name: string, domains: string[]) => ({ name, domains, routes: route });

const config = compileRoutes({
  name: "80",
  virtual_hosts: [
    vhost("exact", ["www.foo.com", "www.foo.com:8080", "[::1]:80"]),
    vhost("suffix-dot", ["*.foo.com"]),
    vhost("suffix-dash", ["*-bar.foo.com"]),
    vhost("suffix-long", ["*.api.foo.com"]),
    vhost("prefix", ["foo.*"]),
    vhost("prefix-long", ["foo.bar.*"]),
    vhost("catch-all", ["*"]),
  ],
});

function hostFor(authority: string, ignorePort = false): string | undefined {
  return findVirtualHost(config.hostIndex, authority, ignorePort)?.name;
}

describe("virtual host selection (Envoy's domain search order)", () => {
  it.each([
    ["www.foo.com", "exact"],
    ["WWW.Foo.COM", "exact"],
    ["www.foo.com:8080", "exact"],
    ["[::1]:80", "exact"],
    ["a.foo.com", "suffix-dot"],
    ["baz-bar.foo.com", "suffix-dash"],
    ["x.baz-bar.foo.com", "suffix-dash"],
    ["v1.api.foo.com", "suffix-long"],
    ["foo.com", "prefix"],
    ["foo.bar.com", "prefix-long"],
    ["foo.baz", "prefix"],
    // A wildcard never matches the empty string.
    ["-bar.foo.com", "suffix-dot"],
    [".foo.com", "catch-all"],
    ["foo.", "catch-all"],
    ["other.org", "catch-all"],
    // Suffix wildcards win over prefix wildcards.
    ["foo.foo.com", "suffix-dot"],
  ])("%s → %s", (authority, expected) => {
    expect(hostFor(authority)).toBe(expected);
  });

  it("matches the port as part of the authority by default (no implicit port stripping)", () => {
    expect(hostFor("www.foo.com:9090")).toBe("catch-all");
    expect(hostFor("www.foo.com:8080")).toBe("exact");
    expect(hostFor("a.foo.com:80")).toBe("catch-all");
    expect(hostFor("foo.com:80")).toBe("prefix");
  });

  it("ignores the request's port with ignore_port_in_host_matching", () => {
    expect(hostFor("www.foo.com:9090", true)).toBe("exact");
    expect(hostFor("[::1]:80", true)).toBe("catch-all");
  });

  it("returns undefined without a catch-all, and the catch-all fast path without an authority", () => {
    const noDefault = compileRoutes({ virtual_hosts: [vhost("a", ["a.com"])] });
    expect(findVirtualHost(noDefault.hostIndex, "b.com", false)).toBeUndefined();
    expect(findVirtualHost(noDefault.hostIndex, "", false)).toBeUndefined();
    const onlyDefault = compileRoutes({ virtual_hosts: [vhost("any", ["*"])] });
    expect(findVirtualHost(onlyDefault.hostIndex, "", false)?.name).toBe("any");
  });

  it("honours ignore_port_in_host_matching from the route configuration in selectRoute", () => {
    const ignoring = compileRoutes({
      ignore_port_in_host_matching: true,
      virtual_hosts: [vhost("a", ["a.com"])],
    });
    const selection = selectRoute(ignoring, request({ authority: "a.com:15001" }));
    expect(selection.noRoute ? undefined : selection.virtualHost.name).toBe("a");
    expect(selectRoute(config, request({ authority: "nothing" })).virtualHost?.name).toBe(
      "catch-all",
    );
  });

  it("finds the port start as Envoy's getPortStart", () => {
    expect(portStart("a.com:80")).toBe(5);
    expect(portStart("a.com")).toBe(-1);
    expect(portStart("[::1]")).toBe(-1);
    expect(portStart("[::1]:443")).toBe(5);
    expect(stripPort("[::1]:443")).toBe("[::1]");
  });
});
