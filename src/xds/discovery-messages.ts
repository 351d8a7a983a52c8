// The ADS wire messages (DiscoveryRequest/Response and their delta forms) and the gRPC service
// definition both ends use. Resources stay as binary Any here; resource-codec.ts converts them.
import type { ServiceDefinition } from "@grpc/grpc-js";
import type protobuf from "protobufjs";
import { envoyProtos } from "./envoy-protos.ts";
import { encodeJson, type JsonObject, jsonToProtobufObject, messageToJson } from "./proto-json.ts";
import type { AnyMessage } from "./resource-codec.ts";

export interface ErrorDetail {
  code: number;
  message: string;
}

export interface DiscoveryRequest {
  version_info: string;
  /** Envoy's Node message as proto3 JSON (id, cluster, metadata, locality …); first request only. */
  node?: JsonObject;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: ErrorDetail;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}

export interface DeltaDiscoveryRequest {
  node?: JsonObject;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: ErrorDetail;
}

export interface DeltaResource {
  name: string;
  version: string;
  resource?: AnyMessage;
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

const NAMESPACE = "envoy.service.discovery.v3";

function type(name: string): protobuf.Type {
  return envoyProtos().lookupType(`${NAMESPACE}.${name}`);
}

function nodeType(): protobuf.Type {
  return envoyProtos().lookupType("envoy.config.core.v3.Node");
}

const TO_OBJECT = {
  enums: String,
  longs: String,
  defaults: true,
  arrays: true,
  objects: true,
} as const;

/**
 * Requests are written by the reflective encoder (proto-encode.ts), byte for byte what protobufjs
 * writes: every proxy sends one as it starts, and protobufjs would first generate the code of the
 * request's, its node's and the node's metadata's types.
 */
function requestEncoder<T>(name: string): (value: T) => Buffer {
  return (value) => Buffer.from(encodeJson(type(name), value));
}

function encoder<T>(name: string): (value: T) => Buffer {
  return (value) => {
    const t = type(name);
    const object = { ...(value as Record<string, unknown>) };
    if (object.node) object.node = jsonToProtobufObject(nodeType(), object.node);
    return Buffer.from(t.encode(t.fromObject(object)).finish());
  };
}

function decoder<T>(name: string): (bytes: Buffer) => T {
  return (bytes) => {
    const t = type(name);
    const message = t.decode(bytes);
    const object = t.toObject(message, TO_OBJECT) as Record<string, unknown>;
    const node = (message as unknown as { node?: protobuf.Message }).node;
    if (node)
      object.node = messageToJson(envoyProtos().lookupType("envoy.config.core.v3.Node"), node);
    else delete object.node;
    if (!(message as unknown as { error_detail?: unknown }).error_detail)
      delete object.error_detail;
    return object as T;
  };
}

export const encodeDiscoveryRequest = requestEncoder<DiscoveryRequest>("DiscoveryRequest");
export const decodeDiscoveryRequest = decoder<DiscoveryRequest>("DiscoveryRequest");
export const encodeDiscoveryResponse = encoder<DiscoveryResponse>("DiscoveryResponse");
export const decodeDiscoveryResponse = decoder<DiscoveryResponse>("DiscoveryResponse");
export const encodeDeltaRequest = requestEncoder<DeltaDiscoveryRequest>("DeltaDiscoveryRequest");
export const decodeDeltaRequest = decoder<DeltaDiscoveryRequest>("DeltaDiscoveryRequest");
export const encodeDeltaResponse = encoder<DeltaDiscoveryResponse>("DeltaDiscoveryResponse");
export const decodeDeltaResponse = decoder<DeltaDiscoveryResponse>("DeltaDiscoveryResponse");

const ADS = "/envoy.service.discovery.v3.AggregatedDiscoveryService";

/** envoy.service.discovery.v3.AggregatedDiscoveryService, for grpc-js servers and clients. */
export const ADS_SERVICE = {
  StreamAggregatedResources: {
    path: `${ADS}/StreamAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: encodeDiscoveryRequest,
    requestDeserialize: decodeDiscoveryRequest,
    responseSerialize: encodeDiscoveryResponse,
    responseDeserialize: decodeDiscoveryResponse,
  },
  DeltaAggregatedResources: {
    path: `${ADS}/DeltaAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: encodeDeltaRequest,
    requestDeserialize: decodeDeltaRequest,
    responseSerialize: encodeDeltaResponse,
    responseDeserialize: decodeDeltaResponse,
  },
} satisfies ServiceDefinition;
