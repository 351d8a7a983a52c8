// The decode plans of every message type in Envoy's Root (envoy-protos.ts), generated with the
// descriptors (scripts/generate-envoy-descriptors.ts; a test keeps them equal to the plans the
// Root itself gives). A proxy decodes its xDS resources through these without building the
// Root's reflection objects for them.

import table from "./envoy-decode-plans.generated.json" with { type: "json" };
import { envoyProtos } from "./envoy-protos.ts";
import { type PlanSource, reflectivePlans } from "./proto-decode-plan.ts";
import { type PlanTable, tablePlans } from "./proto-decode-plan-table.ts";

let plans: PlanSource | undefined;

/** Plans by full name; a name not in the table is looked up in the Root as before. */
export function envoyDecodePlans(): PlanSource {
  plans ??= tablePlans(table as unknown as PlanTable, {
    plan: (name) => reflectivePlans(envoyProtos()).plan(name),
  });
  return plans;
}
