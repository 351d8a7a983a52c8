// The Telemetry resources in scope for the proxy being translated, resolved once per proxy and
// config snapshot: every HCM and tcp_proxy of a proxy asks, and a proxy may have thousands.
import type { MeshConfig } from "../model/mesh-config.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import {
  type ApplicableTelemetry,
  applicableTelemetry,
  type WorkloadMode,
} from "../model/telemetry.ts";
import type { ListenerClass } from "./http-connection-manager.ts";

export interface TelemetryContext {
  meshConfig: MeshConfig;
  proxy: ProxyNode;
  /** Absent: no Telemetry resources are known (meshConfig alone decides). */
  snapshot?: MeshSnapshot | undefined;
}

/** The telemetry context of a listener being built from a snapshot. */
export function telemetryContext(ctx: {
  snapshot: MeshSnapshot;
  proxy: ProxyNode;
}): TelemetryContext {
  return { meshConfig: ctx.snapshot.meshConfig, proxy: ctx.proxy, snapshot: ctx.snapshot };
}

const NO_TELEMETRY: ApplicableTelemetry = { metrics: [], logging: [], tracing: [] };
const resolved = new WeakMap<MeshSnapshot, WeakMap<ProxyNode, ApplicableTelemetry>>();

export function telemetryOf(ctx: TelemetryContext): ApplicableTelemetry {
  const snapshot = ctx.snapshot;
  if (!snapshot || snapshot.config.telemetries.length === 0) return NO_TELEMETRY;
  let perProxy = resolved.get(snapshot);
  if (!perProxy) {
    perProxy = new WeakMap();
    resolved.set(snapshot, perProxy);
  }
  let telemetry = perProxy.get(ctx.proxy);
  if (!telemetry) {
    telemetry = applicableTelemetry(
      snapshot.config.telemetries,
      ctx.proxy,
      ctx.meshConfig.rootNamespace,
    );
    perProxy.set(ctx.proxy, telemetry);
  }
  return telemetry;
}

/** Istio's workloadMode: inbound listeners serve; outbound and gateway listeners are clients. */
export function workloadMode(cls: ListenerClass): WorkloadMode {
  return cls === "sidecar-inbound" ? "SERVER" : "CLIENT";
}
