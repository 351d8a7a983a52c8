// xDS resources on the wire are google.protobuf.Any; in crema they are proto3-JSON objects.
// This is the one place that converts between the two.
import { CremaError } from "../base/errors.ts";
import { envoyDecodePlans } from "./envoy-decode-plans.ts";
import { envoyProtos } from "./envoy-protos.ts";
import { decodePlannedJson } from "./proto-decode.ts";
import { encodeJson, type JsonObject } from "./proto-json.ts";
import { messageNameOf } from "./type-urls.ts";

export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

function typeFor(typeUrl: string) {
  try {
    return envoyProtos().lookupType(messageNameOf(typeUrl));
  } catch {
    throw new CremaError("CREMA_XDS_UNKNOWN_TYPE", `no protobuf type is known for ${typeUrl}`);
  }
}

export function encodeResource(typeUrl: string, resource: JsonObject): AnyMessage {
  return { type_url: typeUrl, value: encodeJson(typeFor(typeUrl), resource) };
}

export function decodeResource(any: AnyMessage): JsonObject {
  const plan = envoyDecodePlans().plan(messageNameOf(any.type_url));
  if (plan === undefined)
    throw new CremaError("CREMA_XDS_UNKNOWN_TYPE", `no protobuf type is known for ${any.type_url}`);
  return decodePlannedJson(plan, any.value) as JsonObject;
}
