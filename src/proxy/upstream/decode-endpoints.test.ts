// ClusterLoadAssignment decoding and HostSet building with Host reuse across EDS updates.
import { describe, expect, it } from "vitest";
import { buildHostSet, decodeEndpoints, decodeLoadAssignment } from "./decode-endpoints.ts";
import { groupHosts, hostAvailability } from "./lb/host-set.ts";
import { goldenResources } from "./testing.ts";

function lbEndpoint(address: string, port: number, extra: Record<string, unknown> = {}) {
  return { endpoint: { address: { socket_address: { address, port_value: port } } }, ...extra };
}

function cla(endpoints: unknown[], policy?: unknown) {
  return { cluster_name: "outbound|80||a", endpoints, ...(policy ? { policy } : {}) };
}

function hostSet(json: unknown, previous?: Parameters<typeof decodeEndpoints>[1]) {
  const result = decodeEndpoints(json, previous);
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.value.hostSet;
}

describe("decodeEndpoints", () => {
  it("decodes every ClusterLoadAssignment the control plane emits", () => {
    const all = goldenResources("endpoints");
    expect(all.length).toBeGreaterThan(20);
    const failures = all.flatMap(([where, json]) => {
      const result = decodeLoadAssignment(json);
      return result.ok ? [] : [`${where}: ${result.errors}`];
    });
    expect(failures).toEqual([]);
    const withHosts = all.map(([, json]) => hostSet(json)).find((set) => set.hosts.length > 0)!;
    expect(withHosts.hosts[0]!.metadata["envoy.transport_socket_match"]).toEqual({
      tlsMode: "istio",
    });
    expect(withHosts.hosts[0]!.health).toBe("HEALTHY");
  });

  it("maps priorities, localities, weights, health and the overprovisioning factor", () => {
    const set = hostSet(
      cla(
        [
          {
            locality: { region: "r", zone: "z1" },
            load_balancing_weight: 3,
            lb_endpoints: [
              lbEndpoint("10.0.0.1", 80, { load_balancing_weight: 5 }),
              lbEndpoint("10.0.0.2", 80, { health_status: "UNHEALTHY" }),
              lbEndpoint("10.0.0.3", 80, { health_status: "DEGRADED" }),
              lbEndpoint("10.0.0.4", 80, { health_status: 3 }),
            ],
          },
          { locality: { zone: "z2" }, priority: 1, lb_endpoints: [lbEndpoint("::1", 80)] },
        ],
        { overprovisioning_factor: 200 },
      ),
    );
    expect(set.overprovisioningFactor).toBe(200);
    expect(set.localityWeights).toEqual([
      { priority: 0, locality: { region: "r", zone: "z1", subZone: "" }, weight: 3 },
    ]);
    expect(set.hosts.map((h) => [h.weight, h.priority, hostAvailability(h)])).toEqual([
      [5, 0, "healthy"],
      [1, 0, "unavailable"],
      [1, 0, "degraded"],
      [1, 0, "unavailable"],
      [1, 1, "healthy"],
    ]);
    expect(set.hosts[3]!.health).toBe("DRAINING");
    expect(groupHosts(set).map((g) => g.hosts.length)).toEqual([4, 1]);
  });

  it("keeps Host objects (stats, ejection) across updates", () => {
    const first = hostSet(
      cla([{ lb_endpoints: [lbEndpoint("10.0.0.1", 80), lbEndpoint("10.0.0.2", 80)] }]),
    );
    const [a, b] = first.hosts;
    a!.stats.activeRequests = 2;
    b!.ejected = true;
    b!.stats.activeRequests = 1;
    const second = hostSet(
      cla([
        {
          lb_endpoints: [
            lbEndpoint("10.0.0.2", 80, { load_balancing_weight: 4 }),
            lbEndpoint("10.0.0.1", 80),
            lbEndpoint("10.0.0.3", 80),
          ],
        },
      ]),
      first,
    );
    expect(second.hosts[1]).toBe(a);
    const changed = second.hosts[0]!;
    expect(changed).not.toBe(b);
    expect(changed).toMatchObject({ weight: 4, ejected: true });
    expect(changed.stats).toBe(b!.stats);
    expect(second.hosts[2]!.stats.activeRequests).toBe(0);
  });

  it("collects every error with its field path", () => {
    const result = decodeLoadAssignment({
      endpoints: [
        {
          priority: 200,
          load_balancing_weight: 0,
          lb_endpoints: [
            lbEndpoint("web.local", 80),
            { endpoint: { address: { pipe: { path: "/s" } } } },
            lbEndpoint("10.0.0.1", 70000, { load_balancing_weight: 0, health_status: "SICK" }),
            {},
          ],
        },
      ],
      policy: { drop_overloads: [{ category: "x" }], overprovisioning_factor: 0 },
    });
    expect(result).toEqual({
      ok: false,
      errors: [
        "endpoints[0].priority: must be at most 128, got 200",
        "endpoints[0].load_balancing_weight: must be at least 1",
        'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "web.local" is not an IP address',
        "endpoints[0].lb_endpoints[1].endpoint.address.pipe: only socket_address endpoints are supported",
        "endpoints[0].lb_endpoints[2].endpoint.address.socket_address.port_value: expected an integer between 0 and 65535",
        "endpoints[0].lb_endpoints[2].load_balancing_weight: must be at least 1",
        "endpoints[0].lb_endpoints[2].health_status: expected one of UNKNOWN, HEALTHY, UNHEALTHY, DRAINING, TIMEOUT, DEGRADED",
        "endpoints[0].lb_endpoints[3].endpoint: is required",
        "policy.drop_overloads: drop_overloads is not supported",
        "policy.overprovisioning_factor: must be greater than 0",
        "cluster_name: is required",
      ],
    });
  });

  it("builds a host set without a previous one", () => {
    const decoded = decodeLoadAssignment(cla([{ lb_endpoints: [lbEndpoint("10.0.0.9", 9)] }]));
    expect(decoded.ok && buildHostSet(decoded.value).hosts[0]!.port).toBe(9);
  });
});
