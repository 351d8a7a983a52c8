// The analyzers `analyzeResources` runs by default, in reporting order. Built by a function
// so callers can pass their own list (no module-global registry).
import type { Analyzer } from "./analyzer.ts";
import { conflictingGateways } from "./conflicting-gateways.ts";
import { conflictingMeshHosts } from "./conflicting-mesh-hosts.ts";
import { destinationRuleHost } from "./destination-rule-host.ts";
import { destinationRuleSubsets } from "./destination-rule-subsets.ts";
import { gatewaySecrets } from "./gateway-secrets.ts";
import { gatewayWorkloads } from "./gateway-workloads.ts";
import { mtlsConflict } from "./mtls-conflict.ts";
import { namespaceInjection } from "./namespace-injection.ts";
import { portNames } from "./port-names.ts";
import { sidecarSelectors } from "./sidecar-selectors.ts";
import { virtualServiceDestinations } from "./virtual-service-destinations.ts";
import { virtualServiceGateways } from "./virtual-service-gateways.ts";
import { virtualServiceMatches } from "./virtual-service-matches.ts";
import { workloadSelectors } from "./workload-selectors.ts";

export function defaultAnalyzers(): readonly Analyzer[] {
  return [
    virtualServiceGateways,
    virtualServiceDestinations,
    conflictingMeshHosts,
    virtualServiceMatches,
    gatewayWorkloads,
    gatewaySecrets,
    conflictingGateways,
    destinationRuleHost,
    destinationRuleSubsets,
    mtlsConflict,
    sidecarSelectors,
    workloadSelectors,
    portNames,
    namespaceInjection,
  ];
}
