import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.ts";

describe("parseDuration", () => {
  it.each([
    ["1.5s", 1500],
    ["300ms", 300],
    ["1h", 3_600_000],
    ["2m30s", 150_000],
    ["0s", 0],
    ["0", 0],
    ["100us", 0.1],
    ["1h1m1s1ms", 3_661_001],
    [".5s", 500],
    ["-1s", -1000],
  ])("parses %s as %d ms", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each(["", "1", "1x", "s", "1.5", "1 s", "1s2", "abc", "1d"])(
    "rejects %j with a reason",
    (text) => {
      const result = parseDuration(text);
      expect(result.ok).toBe(false);
    },
  );

  it("formats as protobuf JSON seconds", () => {
    expect(formatDuration(1500)).toBe("1.5s");
    expect(formatDuration(2000)).toBe("2s");
  });
});
