// Istio's CSR API as both ends see it on the wire: istio.v1.auth.IstioCertificateService read
// from istio-ca.proto (through the descriptor generated from it), and the shape of its messages. The CA serves it (csr-service.ts) and the
// agent calls it (proxy/agent/istio-ca-client.ts); this module imports nothing of the CA's
// signing code, so a sidecar that only calls the API does not load it.
import { fileURLToPath } from "node:url";
import type * as grpc from "@grpc/grpc-js";
import type * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import descriptor from "./istio-ca.generated.json" with { type: "json" };

/** Beside this module in src/; a dist/ build must copy istio-ca.proto beside the compiled file. */
export const ISTIO_CA_PROTO_PATH = fileURLToPath(new URL("./istio-ca.proto", import.meta.url));
export const ISTIO_CERTIFICATE_SERVICE = "istio.v1.auth.IstioCertificateService";
/** Field names as in the proto (cert_chain, validity_duration); int64 as decimal strings. */
export const ISTIO_CA_PROTO_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  defaults: true,
  oneofs: true,
};

export interface IstioCertificateRequestMessage {
  csr: string;
  /** int64 seconds, as a decimal string. */
  validity_duration: string;
  metadata?: { fields?: Record<string, { stringValue?: string } | undefined> } | null;
}

export interface IstioCertificateResponseMessage {
  cert_chain: string[];
}

/**
 * The CSR API as a grpc-js service definition, read from istio-ca.proto by protobufjs, with the
 * message objects @grpc/proto-loader would give for ISTIO_CA_PROTO_OPTIONS. Not proto-loader
 * itself: it brings a second copy of protobufjs and builds reflection descriptors, together
 * about 70 ms of CPU in the start-up of every sidecar, which has one call to make. Nor the
 * .proto text: parsing it took protobufjs 8 ms where its JSON descriptor (istioCaDescriptor,
 * generated) takes 1.
 */
export function loadIstioCertificateService(): grpc.ServiceDefinition {
  const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
  const service = root.lookupService(ISTIO_CERTIFICATE_SERVICE);
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of Object.values(service.methods)) {
    method.resolve();
    const request = method.resolvedRequestType!;
    const response = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${ISTIO_CERTIFICATE_SERVICE}/${method.name}`,
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
    };
  }
  return definition;
}

function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => Buffer.from(type.encode(type.fromObject(value)).finish());
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), ISTIO_CA_PROTO_OPTIONS);
}

/** The descriptor of istio-ca.proto, field names as written: what the generator writes. */
export function istioCaDescriptor(): protobuf.INamespace {
  return new protobuf.Root().loadSync(ISTIO_CA_PROTO_PATH, { keepCase: true }).toJSON({
    keepComments: false,
  });
}
