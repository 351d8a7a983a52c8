// A DestinationRule's host should name a Service or ServiceEntry host visible from its
// namespace; a wildcard host is found when it covers some known host. A warning: the rule
// applies to nothing, but is harmless (CREMA_ANALYSIS_DESTINATION_RULE_HOST_NOT_FOUND).
import type { Analyzer } from "./analyzer.ts";

export const destinationRuleHost: Analyzer = {
  name: "destinationrule.host",
  codes: ["CREMA_ANALYSIS_DESTINATION_RULE_HOST_NOT_FOUND"],
  run(ctx) {
    for (const rule of ctx.ofKind("DestinationRule")) {
      const host = rule.spec.host;
      if (typeof host !== "string" || host === "") continue;
      if (ctx.servicesForHost(host, rule.namespace).length > 0) continue;
      const fqdn = ctx.resolveHost(host, rule.namespace);
      ctx.report(
        rule,
        ["spec", "host"],
        "CREMA_ANALYSIS_DESTINATION_RULE_HOST_NOT_FOUND",
        "warning",
        `host ${JSON.stringify(host)}${fqdn === host ? "" : ` (${fqdn})`} matches no Service or ServiceEntry visible from namespace ${rule.namespace}, so this DestinationRule applies to no traffic; fix the host (short names resolve in the DestinationRule's namespace) or add the Service or ServiceEntry`,
      );
    }
  },
};
