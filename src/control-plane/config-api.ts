// The control plane's configuration API (used by `crema apply` / `crema delete`): YAML or JSON
// in the request body, validated exactly like `crema validate`; 200 when accepted, 422 with
// every diagnostic when rejected (nothing changes then).
import type { ChangeOutcome, ConfigStore } from "./config-store.ts";
import type { DebugHandler } from "./debug-server.ts";

function describe(outcome: ChangeOutcome) {
  return {
    accepted: outcome.accepted,
    changed: outcome.changed,
    diagnostics: outcome.diagnostics,
    report: outcome.report,
  };
}

const statusOf = (result: unknown) => ((result as { accepted?: boolean }).accepted ? 200 : 422);

export function configApiHandlers(store: ConfigStore): DebugHandler[] {
  return [
    {
      path: "/config/apply",
      method: "POST",
      description:
        "POST YAML/JSON resources to add or replace them (like kubectl apply); 422 with diagnostics when invalid.",
      handle: (query, body) => describe(store.apply(body, query.get("source") ?? "<apply>")),
      status: statusOf,
    },
    {
      path: "/config/delete",
      method: "POST",
      description: "POST YAML/JSON resources to remove them (like kubectl delete).",
      handle: (query, body) => describe(store.delete(body, query.get("source") ?? "<delete>")),
      status: statusOf,
    },
  ];
}
