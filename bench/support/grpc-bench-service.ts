// The gRPC service the proxy benchmark measures: `bench.Bench/Unary` takes a `bench.Payload`
// (protobuf, `bytes body = 1`) and answers one whose body is 1 KiB. Shared by the backend
// (grpc-backend.ts), the request file h2load posts, and the grpc-js call that checks each path.
import {
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceDefinition,
  type ServiceError,
} from "@grpc/grpc-js";
import protobuf from "protobufjs";

export const UNARY_PATH = "/bench.Bench/Unary";
export const RESPONSE_BODY_BYTES = 1024;
const REQUEST_BODY = Buffer.from("crema-bench-ping");

const Payload = new protobuf.Type("Payload").add(new protobuf.Field("body", 1, "bytes"));
new protobuf.Root().define("bench").add(Payload);

export function encodePayload(body: Uint8Array): Buffer {
  return Buffer.from(Payload.encode(Payload.create({ body })).finish());
}

/** The payload's body; throws on bytes that are not a `bench.Payload`. */
export function decodePayload(bytes: Uint8Array): Buffer {
  const message = Payload.toObject(Payload.decode(bytes), { bytes: Buffer }) as { body?: Buffer };
  return message.body ?? Buffer.alloc(0);
}

export const BENCH_SERVICE: ServiceDefinition = {
  Unary: {
    path: UNARY_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (body: Buffer) => encodePayload(body),
    requestDeserialize: (bytes: Buffer) => decodePayload(bytes),
    responseSerialize: (body: Buffer) => encodePayload(body),
    responseDeserialize: (bytes: Buffer) => decodePayload(bytes),
  },
};

/**
 * The request as h2load posts it (`-d FILE`): one length-prefixed gRPC message (flag byte 0 = not
 * compressed, 4-byte big-endian length, the protobuf bytes), with the headers a gRPC client sends.
 */
export function grpcRequestBody(): Buffer {
  const message = encodePayload(REQUEST_BODY);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}
export const GRPC_REQUEST_HEADERS = { "content-type": "application/grpc", te: "trailers" };

interface BenchClient {
  Unary(
    request: Buffer,
    metadata: Metadata,
    callback: (error: ServiceError | null, reply?: Buffer) => void,
  ): unknown;
  close(): void;
}
const BenchClient = makeGenericClientConstructor(BENCH_SERVICE, "Bench");

/**
 * One unary call from a real grpc-js client, sent to `address` (host:port) with `authority` as
 * `:authority` (a sidecar's outbound listener routes on it): rejects unless the call ends with
 * grpc-status 0 and a 1 KiB reply.
 */
export function checkUnaryCall(address: string, authority?: string): Promise<void> {
  const client = new BenchClient(
    address,
    credentials.createInsecure(),
    authority ? { "grpc.default_authority": authority } : {},
  ) as unknown as BenchClient;
  return new Promise<void>((resolve, reject) => {
    client.Unary(REQUEST_BODY, new Metadata(), (error, reply) => {
      client.close();
      if (error)
        reject(new Error(`gRPC call via ${address} (${authority ?? "direct"}): ${error.message}`));
      else if (reply?.length !== RESPONSE_BODY_BYTES)
        reject(new Error(`gRPC call via ${address}: a ${reply?.length ?? 0}-byte reply`));
      else resolve();
    });
  });
}
