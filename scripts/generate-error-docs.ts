// Regenerates docs/reference/errors.md from the error catalogue.
import { writeFileSync } from "node:fs";
import { renderErrorDocs } from "../src/base/error-docs.ts";

writeFileSync(new URL("../docs/reference/errors.md", import.meta.url), renderErrorDocs());
