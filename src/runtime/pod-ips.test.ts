import { describe, expect, it } from "vitest";
import { createPodIpAllocator, parsePodCidr } from "./pod-ips.ts";

describe("pod addresses", () => {
  it("gives each pod its own address and its app the next one, reusing released ones", () => {
    const ips = createPodIpAllocator("127.20.0.0/16");
    const first = ips.allocate();
    const second = ips.allocate();
    expect(first).toEqual({ podIP: "127.20.1.1", appIP: "127.20.1.2" });
    expect(second).toEqual({ podIP: "127.20.1.5", appIP: "127.20.1.6" });
    for (let i = 2; i < 63; i++) ips.allocate();
    expect(ips.allocate().podIP).toBe("127.20.2.1");
    ips.release(second.podIP);
    expect(ips.allocate()).toEqual(second);
  });

  it("accepts only a /16 inside 127.0.0.0/8", () => {
    expect(parsePodCidr("127.30.0.0/16")).toBe(30);
    for (const bad of ["10.0.0.0/16", "127.0.0.0/16", "127.30.0.0/24", "127.300.0.0/16"]) {
      expect(() => parsePodCidr(bad)).toThrow(/--pod-cidr/);
    }
  });
});
