// Which semantic validator checks which kind. Built by callers and passed down (no module-global state).

import { validateAuthorizationPolicy } from "./authorization-policy.ts";
import type { KindValidator } from "./context.ts";
import { validateDestinationRule } from "./destination-rule.ts";
import { validateEnvoyFilter } from "./envoy-filter.ts";
import { validateGateway } from "./gateway.ts";
import { validatePeerAuthentication } from "./peer-authentication.ts";
import { validateProxyConfig } from "./proxy-config.ts";
import { validateRequestAuthentication } from "./request-authentication.ts";
import { validateServiceEntry } from "./service-entry.ts";
import { validateSidecar } from "./sidecar.ts";
import { validateTelemetry } from "./telemetry.ts";
import { validateVirtualService } from "./virtual-service.ts";
import { validateWasmPlugin } from "./wasm-plugin.ts";
import { validateWorkloadEntry } from "./workload-entry.ts";
import { validateWorkloadGroup } from "./workload-group.ts";

export function defaultKindValidators(): ReadonlyMap<string, KindValidator> {
  return new Map<string, KindValidator>([
    ["VirtualService", validateVirtualService],
    ["DestinationRule", validateDestinationRule],
    ["Gateway", validateGateway],
    ["ServiceEntry", validateServiceEntry],
    ["Sidecar", validateSidecar],
    ["WorkloadEntry", validateWorkloadEntry],
    ["WorkloadGroup", validateWorkloadGroup],
    ["EnvoyFilter", validateEnvoyFilter],
    ["ProxyConfig", validateProxyConfig],
    ["PeerAuthentication", validatePeerAuthentication],
    ["RequestAuthentication", validateRequestAuthentication],
    ["AuthorizationPolicy", validateAuthorizationPolicy],
    ["WasmPlugin", validateWasmPlugin],
    ["Telemetry", validateTelemetry],
  ]);
}
