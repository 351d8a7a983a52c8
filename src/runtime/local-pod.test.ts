import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { podEnvironment } from "./local-pod.ts";
import type { PodPlan } from "./pod-plan.ts";

const plan = {
  name: "web-1",
  namespace: "shop",
  serviceAccount: "web",
  sidecar: true,
} as PodPlan;
const addresses = { podIP: "127.10.0.1", appIP: "127.10.0.2" };

describe("a pod's environment", () => {
  it("points Node apps at Node's compile cache, unless the environment names its own", () => {
    const env = podEnvironment(plan, addresses, "/bin", { PATH: "/usr/bin" });
    expect(env.NODE_COMPILE_CACHE).toBe(join(tmpdir(), "node-compile-cache"));
    const own = podEnvironment(plan, addresses, "/bin", { NODE_COMPILE_CACHE: "/cache" });
    expect(own.NODE_COMPILE_CACHE).toBe("/cache");
  });
});
