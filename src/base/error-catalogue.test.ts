import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CATALOGUE } from "./error-catalogue.ts";
import { renderErrorDocs } from "./error-docs.ts";
import { CremaError, describeError } from "./errors.ts";

describe("error catalogue", () => {
  it("is documented exactly in docs/reference/errors.md (run `npm run docs:errors` to refresh)", () => {
    const docs = readFileSync(new URL("../../docs/reference/errors.md", import.meta.url), "utf8");
    expect(docs).toBe(renderErrorDocs());
  });

  it("uses CREMA_<AREA>_<NAME> or Istio IST codes, each with meaning and advice", () => {
    for (const [code, info] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).toMatch(/^(CREMA_[A-Z]+_[A-Z0-9_]+|IST\d{4})$/);
      expect(info.meaning.length).toBeGreaterThan(10);
      expect(info.solve.length).toBeGreaterThan(10);
    }
  });

  it("gives thrown errors a code and the catalogue's advice", () => {
    const error = new CremaError("CREMA_BASE_INVALID_DURATION", "'1x' is not a duration");
    expect(describeError(error)).toBe("CREMA_BASE_INVALID_DURATION: '1x' is not a duration");
    expect(error.howToSolve).toContain("unit");
  });
});
