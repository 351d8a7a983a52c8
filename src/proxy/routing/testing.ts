// Test helpers for the routing engine: compile a config or fail loudly, build requests, and
// deterministic random sources. Used by this folder's tests and by simulation tests.
import { decodeRouteConfiguration } from "./decode-route-config.ts";
import { compileFullMatch } from "./re2.ts";
import type { Re2Lease } from "./re2-pool.ts";
import type { CompiledRouteConfig, RandomSource, RouteRequest } from "./types.ts";

/** Whether `value` full-matches `pattern` (Envoy's safe_regex), the regex held by `lease`. */
export function fullMatch(pattern: string, value: string, lease: Re2Lease): boolean {
  const compiled = compileFullMatch(pattern, lease);
  if (!compiled.ok) throw new Error(compiled.reason);
  return compiled.test(value);
}

/** Compiles `json`, throwing with every decode error when it is invalid. */
export function compileRoutes(json: unknown): CompiledRouteConfig {
  const result = decodeRouteConfiguration(json);
  if (!result.ok) throw new Error(`route configuration rejected:\n${result.errors.join("\n")}`);
  return result.value;
}

/** A GET to http://example.com/ unless overridden. */
export function request(overrides: Partial<RouteRequest> = {}): RouteRequest {
  return {
    authority: "example.com",
    path: "/",
    method: "GET",
    scheme: "http",
    headers: {},
    ...overrides,
  };
}

/** Always returns `value`. */
export function fixedRandom(value: number): RandomSource {
  return () => value;
}

/** Returns `values` in turn, cycling. */
export function sequenceRandom(values: readonly number[]): RandomSource {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** A route configuration with one virtual host matching every domain. */
export function singleHost(routes: unknown[], vhost: Record<string, unknown> = {}): unknown {
  return { name: "test", virtual_hosts: [{ name: "vh", domains: ["*"], routes, ...vhost }] };
}
