// Level 3 of validation: analysis across resources, as `istioctl analyze` does it. Every
// analyzer runs over the whole input (so references across namespaces resolve); `namespaces`
// only narrows which resources' findings are returned. An analyzer that throws becomes one
// CREMA_BASE_INTERNAL diagnostic instead of ending the run.
import { describeError } from "../../base/errors.ts";
import { compareDiagnostics, type Diagnostic } from "../diagnostic.ts";
import type { Resource } from "../resource.ts";
import type { AnalysisContext, Analyzer } from "./analyzer.ts";
import { createAnalysisContext } from "./context.ts";
import { defaultAnalyzers } from "./registry.ts";

export type { AnalysisContext, Analyzer } from "./analyzer.ts";
export { defaultAnalyzers } from "./registry.ts";

export interface AnalyzeOptions {
  /** Report findings only for resources in these namespaces (all when absent). */
  namespaces?: readonly string[];
  /** Istio's root namespace; default `istio-system`. */
  rootNamespace?: string;
  /** The analyzers to run; default `defaultAnalyzers()`. */
  analyzers?: readonly Analyzer[];
}

export function analyzeResources(
  resources: readonly Resource[],
  options: AnalyzeOptions = {},
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const ctx = createAnalysisContext(
    resources,
    {
      rootNamespace: options.rootNamespace ?? "istio-system",
      ...(options.namespaces ? { namespaces: options.namespaces } : {}),
    },
    (diagnostic) => out.push(diagnostic),
  );
  for (const analyzer of options.analyzers ?? defaultAnalyzers()) {
    try {
      analyzer.run(restrictCodes(ctx, analyzer));
    } catch (error) {
      out.push({
        code: "CREMA_BASE_INTERNAL",
        severity: "error",
        message: `internal error in analyzer ${analyzer.name}: ${describeError(error)}`,
      });
    }
  }
  return out.sort(compareDiagnostics);
}

/** The context as one analyzer sees it: reporting a code it does not declare is a bug. */
function restrictCodes(ctx: AnalysisContext, analyzer: Analyzer): AnalysisContext {
  return {
    ...ctx,
    report(resource, path, code, severity, message) {
      if (!analyzer.codes.includes(code))
        throw new Error(`reported ${code}, which it does not declare`);
      ctx.report(resource, path, code, severity, message);
    },
  };
}
