import { describe, expect, it } from "vitest";
import { formatTable } from "./table.ts";

describe("formatTable", () => {
  it("pads every column but the last to its widest cell plus the padding", () => {
    const text = formatTable(
      ["NAME", "PORT", "TYPE"],
      [
        ["reviews.default.svc.cluster.local", "9080", "EDS"],
        ["db", "5432", "ORIGINAL_DST"],
      ],
    );
    expect(text).toBe(
      [
        "NAME                                  PORT     TYPE",
        "reviews.default.svc.cluster.local     9080     EDS",
        "db                                    5432     ORIGINAL_DST",
        "",
      ].join("\n"),
    );
  });

  it("trims the spaces an empty last cell would leave and counts characters, not UTF-16 units", () => {
    const text = formatTable(["A", "B"], [["é🙂", ""]], 1);
    expect(text).toBe("A  B\né🙂\n");
  });

  it("gives a column of empty cells the padding alone", () => {
    expect(formatTable(["", "X"], [["", "y"]], 2)).toBe("  X\n  y\n");
  });
});
