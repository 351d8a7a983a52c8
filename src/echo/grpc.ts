// The gRPC echo service (crema.echo.v1.EchoService, from echo.proto) and its server.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { Logger } from "../base/logger.ts";
import { HEALTH_SERVICE, healthImplementation } from "./grpc-health.ts";
import type { EchoIdentity } from "./options.ts";

/** Next to this module in src/; a dist/ build must copy echo.proto beside the compiled file. */
export const ECHO_PROTO_PATH = fileURLToPath(new URL("./echo.proto", import.meta.url));
export const ECHO_SERVICE_NAME = "crema.echo.v1.EchoService";
/** Metadata whose value (a code number, or a name such as UNAVAILABLE) forces the status. */
export const FORCE_STATUS_KEY = "x-echo-grpc-status";
export const MAX_STREAM_COUNT = 10_000;

/** Field names are camelCase in JavaScript (service_account → serviceAccount). */
export const ECHO_PROTO_OPTIONS: protoLoader.Options = { defaults: true, oneofs: true };

export interface EchoRequestMessage {
  message: string;
}

export interface EchoStreamRequestMessage {
  message: string;
  count: number;
}

export interface EchoResponseMessage {
  message: string;
  pod: string;
  namespace: string;
  version: string;
  serviceAccount: string;
  metadata: Record<string, string>;
  peer: string;
}

/** The service definition from echo.proto; clients build a stub with makeClientConstructor. */
export function loadEchoService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(ECHO_PROTO_PATH, ECHO_PROTO_OPTIONS);
  return definition[ECHO_SERVICE_NAME] as grpc.ServiceDefinition;
}

function podMetadata(pod: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("x-crema-pod", pod);
  return metadata;
}

type Forced = { code: grpc.status; details: string } | undefined;

/** The status x-echo-grpc-status asks for; undefined for none or OK. */
export function forcedStatus(metadata: grpc.Metadata): Forced {
  const value = metadata.get(FORCE_STATUS_KEY)[0];
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const byName = (grpc.status as unknown as Record<string, number | undefined>)[text.toUpperCase()];
  const code = /^\d{1,2}$/.test(text) ? Number(text) : byName;
  if (code === undefined || !Number.isInteger(code) || code < 0 || code > 16) {
    return {
      code: grpc.status.INVALID_ARGUMENT,
      details: `${FORCE_STATUS_KEY} must be a gRPC status code (0-16) or name, got '${text}'`,
    };
  }
  if (code === grpc.status.OK) return undefined;
  return { code, details: `status ${grpc.status[code]} forced by ${FORCE_STATUS_KEY}` };
}

function metadataMap(metadata: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    out[key] = values
      .map((value) => (typeof value === "string" ? value : value.toString("base64")))
      .join(", ");
  }
  return out;
}

function echoResponse(
  identity: EchoIdentity,
  message: string,
  call: { metadata: grpc.Metadata; getPeer(): string },
): EchoResponseMessage {
  return {
    message,
    pod: identity.pod,
    namespace: identity.namespace,
    version: identity.version,
    serviceAccount: identity.serviceAccount,
    metadata: metadataMap(call.metadata),
    peer: call.getPeer(),
  };
}

export function echoImplementation(identity: EchoIdentity): grpc.UntypedServiceImplementation {
  const echo: grpc.handleUnaryCall<EchoRequestMessage, EchoResponseMessage> = (call, callback) => {
    call.sendMetadata(podMetadata(identity.pod));
    const forced = forcedStatus(call.metadata);
    if (forced) {
      callback({ ...forced, metadata: podMetadata(identity.pod) });
      return;
    }
    callback(null, echoResponse(identity, call.request.message, call));
  };
  const echoStream: grpc.handleServerStreamingCall<
    EchoStreamRequestMessage,
    EchoResponseMessage
  > = (call) => {
    call.sendMetadata(podMetadata(identity.pod));
    const requested = call.request.count;
    const forced: Forced =
      requested < 0 || requested > MAX_STREAM_COUNT
        ? {
            code: grpc.status.INVALID_ARGUMENT,
            details: `count must be from 0 to ${MAX_STREAM_COUNT}, got ${requested}`,
          }
        : forcedStatus(call.metadata);
    if (forced) {
      call.emit("error", { ...forced, metadata: podMetadata(identity.pod) });
      return;
    }
    const count = Math.max(1, requested);
    const response = echoResponse(identity, call.request.message, call);
    let sent = 0;
    const write = (): void => {
      while (sent < count && !call.cancelled) {
        sent++;
        if (!call.write(response)) {
          call.once("drain", write);
          return;
        }
      }
      if (!call.cancelled) call.end();
    };
    write();
  };
  return { Echo: echo, EchoStream: echoStream };
}

export interface GrpcEcho {
  port: number;
  /** Stops taking calls and resolves once running calls have finished. */
  drain(): Promise<void>;
  destroyAll(): void;
}

function bindAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function startGrpcEcho(
  identity: EchoIdentity,
  host: string,
  port: number,
  logger: Logger,
): Promise<GrpcEcho> {
  let draining = false;
  const server = new grpc.Server();
  server.addService(loadEchoService(), echoImplementation(identity));
  server.addService(
    HEALTH_SERVICE,
    healthImplementation([ECHO_SERVICE_NAME], () => draining),
  );
  let bound: number;
  try {
    bound = await new Promise<number>((resolve, reject) => {
      const credentials = grpc.ServerCredentials.createInsecure();
      server.bindAsync(bindAddress(host, port), credentials, (error, p) =>
        error ? reject(error) : resolve(p),
      );
    });
  } catch (error) {
    server.forceShutdown();
    throw error;
  }
  logger.debug({ port: bound }, "gRPC echo listening");
  let stopped: (() => void) | undefined;
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  return {
    port: bound,
    drain() {
      draining = true;
      server.tryShutdown(() => stopped?.());
      return done;
    },
    destroyAll() {
      server.forceShutdown();
      stopped?.();
    },
  };
}
