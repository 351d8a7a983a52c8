// Renders docs/reference/errors.md from the error catalogue (see scripts/generate-error-docs.ts).
import { ERROR_CATALOGUE } from "./error-catalogue.ts";

export function renderErrorDocs(): string {
  const lines = [
    "# Error and diagnostic codes",
    "",
    "Every code crema reports, with what it means and how to solve it. Codes are stable: they",
    "are never renamed or reused. Analyzer messages use Istio's `IST` codes where Istio has an",
    "equivalent, so searching for them finds Istio's documentation too.",
    "",
    "This file is generated from `src/base/error-catalogue.ts` by `npm run docs:errors`; a test",
    "fails when the two differ.",
    "",
  ];
  for (const [code, info] of Object.entries(ERROR_CATALOGUE)) {
    lines.push(`## ${code}`, "", `**${info.title}**`, "", `What it means: ${info.meaning}`, "");
    lines.push(`How to solve: ${info.solve}`, "");
  }
  return lines.join("\n");
}
