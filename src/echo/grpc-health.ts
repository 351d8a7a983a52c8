// The standard gRPC health service (grpc.health.v1.Health/Check), coded by hand: two tiny messages.
import * as grpc from "@grpc/grpc-js";

export const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";

/** HealthCheckResponse.ServingStatus values. */
export const SERVING_STATUS = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2 } as const;

const raw = (value: Buffer): Buffer => value;

export const HEALTH_SERVICE: grpc.ServiceDefinition = {
  Check: {
    path: HEALTH_CHECK_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  },
};

function varint(bytes: Buffer, start: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = start; i < bytes.length && i < start + 10; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  return undefined;
}

/** Reads HealthCheckRequest { string service = 1; }; undefined when the bytes are not one. */
export function decodeHealthCheckRequest(bytes: Buffer): string | undefined {
  let service = "";
  let at = 0;
  while (at < bytes.length) {
    const tag = varint(bytes, at);
    if (!tag) return undefined;
    at = tag[1];
    const wire = tag[0] % 8;
    if (wire === 0) {
      const skipped = varint(bytes, at);
      if (!skipped) return undefined;
      at = skipped[1];
    } else if (wire === 2) {
      const length = varint(bytes, at);
      if (!length || length[1] + length[0] > bytes.length) return undefined;
      if (Math.floor(tag[0] / 8) === 1)
        service = bytes.toString("utf8", length[1], length[1] + length[0]);
      at = length[1] + length[0];
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
    } else {
      return undefined;
    }
  }
  return at === bytes.length ? service : undefined;
}

/** Writes HealthCheckResponse { ServingStatus status = 1; }. */
export function encodeHealthCheckResponse(status: number): Buffer {
  return Buffer.from([0x08, status]);
}

/** Serves Check for "" (the whole server) and for each named service. */
export function healthImplementation(
  services: readonly string[],
  draining: () => boolean,
): grpc.UntypedServiceImplementation {
  const known = new Set(["", ...services]);
  const check: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const service = decodeHealthCheckRequest(call.request);
    if (service === undefined) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: "malformed HealthCheckRequest" });
      return;
    }
    if (!known.has(service)) {
      callback({ code: grpc.status.NOT_FOUND, details: `unknown service '${service}'` });
      return;
    }
    const status = draining() ? SERVING_STATUS.NOT_SERVING : SERVING_STATUS.SERVING;
    callback(null, encodeHealthCheckResponse(status));
  };
  return { Check: check };
}
