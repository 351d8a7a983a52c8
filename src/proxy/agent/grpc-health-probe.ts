// A gRPC prober's check, as the kubelet (and pilot-agent for it) makes it: one plaintext
// grpc.health.v1.Health/Check for the prober's service; SERVING passes, anything else fails.
// The two messages are tiny, so they are coded by hand rather than loaded from a .proto.
import * as grpc from "@grpc/grpc-js";

export const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";

/** HealthCheckResponse.ServingStatus names by number. */
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** HealthCheckRequest { string service = 1; } */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === "") return Buffer.alloc(0);
  const bytes = Buffer.from(service, "utf8");
  return Buffer.concat([Buffer.from([0x0a, ...varint(bytes.length)]), bytes]);
}

function readVarint(bytes: Buffer, start: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = start; i < bytes.length && i < start + 10; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw new Error("malformed HealthCheckResponse");
}

/** HealthCheckResponse { ServingStatus status = 1; }: the status number (0 when absent). */
export function decodeHealthCheckResponse(bytes: Buffer): number {
  let status = 0;
  let at = 0;
  while (at < bytes.length) {
    const [tag, next] = readVarint(bytes, at);
    at = next;
    const wire = tag % 8;
    if (wire === 0) {
      const [value, after] = readVarint(bytes, at);
      if (tag === 0x08) status = value;
      at = after;
    } else if (wire === 2) {
      const [length, after] = readVarint(bytes, at);
      at = after + length;
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
    } else {
      throw new Error("malformed HealthCheckResponse");
    }
  }
  if (at !== bytes.length) throw new Error("malformed HealthCheckResponse");
  return status;
}

export interface GrpcHealthTarget {
  host: string;
  port: number;
  service: string;
  timeoutMs: number;
  /** Passed on as the kubelet's own (pilot-agent does the same). */
  userAgent?: string;
}

/** Resolves `true` when SERVING, otherwise the reason the check failed. */
export function checkGrpcHealth(target: GrpcHealthTarget): Promise<true | string> {
  const address = target.host.includes(":")
    ? `[${target.host}]:${target.port}`
    : `${target.host}:${target.port}`;
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    // A probe goes straight to the app, whatever grpc_proxy/http_proxy say.
    "grpc.enable_http_proxy": 0,
    "grpc.enable_retries": 0,
    ...(target.userAgent ? { "grpc.primary_user_agent": target.userAgent } : {}),
  });
  return new Promise<true | string>((resolve) => {
    client.makeUnaryRequest(
      HEALTH_CHECK_PATH,
      (value: Buffer) => value,
      decodeHealthCheckResponse,
      encodeHealthCheckRequest(target.service),
      new grpc.Metadata(),
      { deadline: Date.now() + target.timeoutMs },
      (error, status) => {
        if (error) {
          const reason =
            error.code === grpc.status.UNIMPLEMENTED
              ? "the app does not implement the gRPC health protocol (grpc.health.v1.Health)"
              : error.code === grpc.status.DEADLINE_EXCEEDED
                ? `the gRPC health check did not finish within ${target.timeoutMs} ms`
                : `gRPC health check failed: ${error.details || grpc.status[error.code]}`;
          resolve(reason);
        } else if (status === 1) {
          resolve(true);
        } else {
          resolve(`gRPC health status ${SERVING_STATUS[status ?? 0] ?? status}`);
        }
      },
    );
  }).finally(() => client.close());
}
