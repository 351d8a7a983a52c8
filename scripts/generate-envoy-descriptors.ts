// Generates, from Envoy's protos (ENVOY_PROTO_FILES and their imports) and crema's copies of
// Istio's (CREMA_PROTO_FILES, src/xds/protos):
// - src/xds/envoy-descriptors.generated.json: protobufjs JSON descriptors, which every process
//   loads instead of parsing the .proto text;
// - src/xds/envoy-declarations.generated.json: what each declaration in them needs, so a process
//   builds only the declarations it uses;
// - src/xds/envoy-decode-plans.generated.json: the decoder's plan of every message type, so a
//   proxy decodes without building reflection objects at all;
// and, from src/ca/istio-ca.proto, src/ca/istio-ca.generated.json: its descriptor, which the CA
// and every agent load instead of parsing the .proto text.
// Run after changing either list, a .proto under src/xds/protos, or upgrading @grpc/grpc-js-xds:
// node scripts/generate-envoy-descriptors.ts &&
//   npx biome format --write src/xds/envoy-de*.json src/ca/istio-ca.generated.json
import { writeFileSync } from "node:fs";
import { istioCaDescriptor } from "../src/ca/istio-certificate-service.ts";
import { envoyDeclarations } from "../src/xds/envoy-declarations.ts";
import { loadEnvoyProtoFiles } from "../src/xds/envoy-protos.ts";
import { planTableOf } from "../src/xds/proto-decode-plan-table.ts";

const root = loadEnvoyProtoFiles();
for (const [file, json] of [
  ["envoy-descriptors.generated.json", root.toJSON({ keepComments: false })],
  ["envoy-declarations.generated.json", envoyDeclarations(root)],
  ["envoy-decode-plans.generated.json", planTableOf(root)],
] as const) {
  writeFileSync(new URL(`../src/xds/${file}`, import.meta.url), `${JSON.stringify(json)}\n`);
}
writeFileSync(
  new URL("../src/ca/istio-ca.generated.json", import.meta.url),
  `${JSON.stringify(istioCaDescriptor())}\n`,
);
