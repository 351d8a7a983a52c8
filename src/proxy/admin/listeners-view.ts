// Envoy's `/listeners`: `name::address` lines, or envoy.admin.v3.Listeners as JSON.
import type { JsonObject } from "../../xds/proto-json.ts";

export interface AdminListener {
  readonly name: string;
  /** The bound address (`0.0.0.0:15001`, `[::]:15006`), with the real port when it was 0. */
  readonly address?: string;
}

/** `10.0.0.1:80` / `[::1]:80` → core.v3.Address; anything without a port is a pipe path. */
export function addressJson(address: string): JsonObject {
  const bracketed = /^\[(.*)\]:(\d+)$/.exec(address);
  if (bracketed)
    return { socket_address: { address: bracketed[1]!, port_value: Number(bracketed[2]) } };
  const plain = /^([^:]*):(\d+)$/.exec(address);
  if (plain) return { socket_address: { address: plain[1]!, port_value: Number(plain[2]) } };
  return { pipe: { path: address } };
}

export function renderListenersText(listeners: readonly AdminListener[]): string {
  let out = "";
  for (const l of listeners) out += `${l.name}::${l.address ?? ""}\n`;
  return out;
}

export function renderListenersJson(listeners: readonly AdminListener[]): JsonObject {
  return {
    listener_statuses: listeners.map(
      (l): JsonObject =>
        l.address ? { name: l.name, local_address: addressJson(l.address) } : { name: l.name },
    ),
  };
}
