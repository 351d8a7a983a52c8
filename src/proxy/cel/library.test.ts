// The CEL library loads with the first expression, not with the modules that compile expressions.
import { describe, expect, it, vi } from "vitest";

describe("the CEL library", () => {
  it("is not loaded by a proxy's access-log and stats modules, only by the first expression", async () => {
    vi.resetModules();
    const library = await import("./library.ts");
    await import("../access-log/decode-access-log-filter.ts");
    await import("../telemetry/stats-filter-config.ts");
    await import("./index.ts");
    expect(library.celLoaded()).toBe(false);
    const { compileCelExpression } = await import("./index.ts");
    const compiled = compileCelExpression("1 + 1 == 2");
    expect(compiled.ok).toBe(true);
    expect(library.celLoaded()).toBe(true);
  });
});
