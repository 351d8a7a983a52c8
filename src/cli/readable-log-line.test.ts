import { describe, expect, it } from "vitest";
import { readableLogLine } from "./readable-log-line.ts";

describe("readableLogLine", () => {
  it("turns a pino line into the logger's name, the level, the message and its fields", () => {
    const line = `${JSON.stringify({
      level: 40,
      time: 1,
      pid: 2,
      hostname: "h",
      name: "runtime",
      reason: "fetch failed",
      err: { type: "Error", message: "boom", stack: "…" },
      pods: ["a", "b"],
      msg: "cannot fetch a JWKS",
    })}\n`;
    expect(readableLogLine(line)).toBe(
      'runtime warn: cannot fetch a JWKS (reason: fetch failed, err: boom, pods: ["a","b"])\n',
    );
  });

  it("leaves anything that is not a pino line as it is", () => {
    expect(readableLogLine("plain text\n")).toBe("plain text\n");
    expect(readableLogLine('{"no":"msg"}\n')).toBe('{"no":"msg"}\n');
    expect(readableLogLine("null\n")).toBe("null\n");
  });
});
