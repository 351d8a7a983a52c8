// Generates src/xds/envoy-descriptors.generated.json: Envoy's protos (ENVOY_PROTO_FILES and
// their imports) as protobufjs JSON descriptors, which every process loads instead of parsing
// the .proto text. Run after changing ENVOY_PROTO_FILES or upgrading @grpc/grpc-js-xds:
// node scripts/generate-envoy-descriptors.ts
import { writeFileSync } from "node:fs";
import { loadEnvoyProtoFiles } from "../src/xds/envoy-protos.ts";

const json = loadEnvoyProtoFiles().toJSON({ keepComments: false });
writeFileSync(
  new URL("../src/xds/envoy-descriptors.generated.json", import.meta.url),
  `${JSON.stringify(json)}\n`,
);
