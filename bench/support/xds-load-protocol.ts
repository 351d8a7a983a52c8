// What the control-plane benchmark and its simulated-proxy processes (xds-load-client.ts) say to
// each other over IPC, and the node each simulated proxy presents.

export type LoadClientCommand =
  | { kind: "start"; address: string; first: number; count: number }
  | { kind: "stop" };

/** [proxy index, type URL, version ACKed, response bytes, epoch ms when the ACK was written] */
export type Ack = [number, string, string, number, number];

export type LoadClientMessage =
  | { kind: "acks"; acks: Ack[] }
  | { kind: "failed"; proxy: number; reason: string }
  | { kind: "ready" }
  | { kind: "stopped" };

export const benchNode = (i: number) => ({
  id: `sidecar~10.200.${i >> 8}.${i & 255}~client-${i}.default~default.svc.cluster.local`,
  metadata: { NAMESPACE: "default", LABELS: { app: "client" } },
});
