// Generates src/xds/envoy-descriptors.generated.json: Envoy's protos (ENVOY_PROTO_FILES and
// their imports) and crema's copies of Istio's (CREMA_PROTO_FILES, src/xds/protos) as protobufjs
// JSON descriptors, which every process loads instead of parsing the .proto text. Run after
// changing either list, a .proto under src/xds/protos, or upgrading @grpc/grpc-js-xds:
// node scripts/generate-envoy-descriptors.ts
import { writeFileSync } from "node:fs";
import { loadEnvoyProtoFiles } from "../src/xds/envoy-protos.ts";

const json = loadEnvoyProtoFiles().toJSON({ keepComments: false });
writeFileSync(
  new URL("../src/xds/envoy-descriptors.generated.json", import.meta.url),
  `${JSON.stringify(json)}\n`,
);
