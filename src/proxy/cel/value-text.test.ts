import { UnsignedInt } from "@marcbachmann/cel-js/evaluator";
import { describe, expect, it } from "vitest";
import { celValueText, formatDouble } from "./value-text.ts";

describe("celValueText", () => {
  it("renders scalars as Envoy's expression printer does", () => {
    expect(celValueText("a")).toBe("a");
    expect(celValueText(-42n)).toBe("-42");
    expect(celValueText(new UnsignedInt(7))).toBe("7");
    expect(celValueText(true)).toBe("true");
    expect(celValueText(false)).toBe("false");
    expect(celValueText(new TextEncoder().encode("héllo"))).toBe("héllo");
    expect(celValueText(2.5)).toBe("2.5");
  });

  it("has no text for null and structured values", () => {
    expect(celValueText(null)).toBeUndefined();
    expect(celValueText([1n])).toBeUndefined();
    expect(celValueText(new Map())).toBeUndefined();
    expect(celValueText(new Date(0))).toBeUndefined();
  });
});

describe("formatDouble", () => {
  it("prints six significant digits like C's %g", () => {
    for (const [value, expected] of [
      [0, "0"],
      [-0, "-0"],
      [3, "3"],
      [0.1 + 0.2, "0.3"],
      [1 / 3, "0.333333"],
      [123456, "123456"],
      [1234567, "1.23457e+06"],
      [999999.5, "1e+06"],
      [0.0001, "0.0001"],
      [0.00001234, "1.234e-05"],
      [-2.5e-300, "-2.5e-300"],
      [1e21, "1e+21"],
      [Number.NaN, "nan"],
      [Number.POSITIVE_INFINITY, "inf"],
      [Number.NEGATIVE_INFINITY, "-inf"],
    ] as const) {
      expect(formatDouble(value), String(value)).toBe(expected);
    }
  });
});
