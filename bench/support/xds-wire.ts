// Just enough protobuf wire reading for the benchmark's simulated proxies: a DiscoveryResponse's
// envelope, cluster names of EDS clusters and the route names listeners use through RDS. A full
// decode of every resource (what a real proxy does) would make a thousand simulated proxies in
// one process measure themselves rather than the control plane. Field numbers come from the
// loaded descriptors, the wire format from protobufjs's Reader.
import protobuf from "protobufjs";
import { messageType } from "../../src/xds/envoy-protos.ts";

const HCM_TYPE =
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

function loadFieldNumbers() {
  const id = (type: string, field: string) => {
    const found = messageType(type).fields[field];
    if (!found) throw new Error(`${type} has no field ${field}`);
    return found.id;
  };
  const response = "envoy.service.discovery.v3.DiscoveryResponse";
  const cluster = "envoy.config.cluster.v3.Cluster";
  const listener = "envoy.config.listener.v3.Listener";
  return {
    response: {
      versionInfo: id(response, "version_info"),
      resources: id(response, "resources"),
      typeUrl: id(response, "type_url"),
      nonce: id(response, "nonce"),
    },
    any: {
      typeUrl: id("google.protobuf.Any", "type_url"),
      value: id("google.protobuf.Any", "value"),
    },
    cluster: {
      name: id(cluster, "name"),
      type: id(cluster, "type"),
      eds: messageType(cluster).lookupEnum("DiscoveryType").values.EDS!,
    },
    listener: {
      filterChains: id(listener, "filter_chains"),
      defaultFilterChain: id(listener, "default_filter_chain"),
    },
    filterChainFilters: id("envoy.config.listener.v3.FilterChain", "filters"),
    filterTypedConfig: id("envoy.config.listener.v3.Filter", "typed_config"),
    hcmRds: id(HCM_TYPE, "rds"),
    rdsRouteConfigName: id(
      "envoy.extensions.filters.network.http_connection_manager.v3.Rds",
      "route_config_name",
    ),
  };
}

let numbers: ReturnType<typeof loadFieldNumbers> | undefined;
/** The field numbers read here, looked up once the descriptors are first needed. */
const fieldNumbers = () => {
  numbers ??= loadFieldNumbers();
  return numbers;
};

type Field = { number: number; wireType: number; value: number | Buffer };

/** The top-level fields of a message, read with protobufjs's wire reader (no schema needed). */
function* fields(buffer: Buffer): Generator<Field> {
  const reader = protobuf.Reader.create(buffer);
  while (reader.pos < reader.len) {
    const key = reader.uint32();
    const number = key >>> 3;
    const wireType = key & 7;
    if (wireType === 0) yield { number, wireType, value: reader.uint32() };
    else if (wireType === 2) {
      // A view of the message's bytes, not a copy: proxies skip most of what they read.
      const bytes = reader.bytes();
      yield { number, wireType, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) };
    } else reader.skipType(wireType);
  }
}

const bytesOf = (buffer: Buffer, number: number): Buffer[] => {
  const out: Buffer[] = [];
  for (const field of fields(buffer))
    if (field.number === number && field.wireType === 2) out.push(field.value as Buffer);
  return out;
};

const stringOf = (buffer: Buffer, number: number): string =>
  bytesOf(buffer, number).at(-1)?.toString("utf8") ?? "";

export interface ResponseEnvelope {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  /** Each resource's Any value (the message bytes, without the Any's type URL), read when
   * asked for: a proxy looks into clusters and listeners only. */
  resources(): Buffer[];
}

export function readDiscoveryResponse(message: Buffer): ResponseEnvelope {
  const { response: field, any } = fieldNumbers();
  const anys: Buffer[] = [];
  const response: ResponseEnvelope = {
    versionInfo: "",
    typeUrl: "",
    nonce: "",
    resources: () => anys.map((a) => bytesOf(a, any.value).at(-1) ?? a),
  };
  for (const { number, wireType, value } of fields(message)) {
    if (wireType !== 2) continue;
    const bytes = value as Buffer;
    if (number === field.versionInfo) response.versionInfo = bytes.toString("utf8");
    else if (number === field.resources) anys.push(bytes);
    else if (number === field.typeUrl) response.typeUrl = bytes.toString("utf8");
    else if (number === field.nonce) response.nonce = bytes.toString("utf8");
  }
  return response;
}

/** Cluster.name of a Cluster whose discovery type is EDS, else undefined. */
export function edsClusterName(cluster: Buffer): string | undefined {
  const field = fieldNumbers().cluster;
  let name = "";
  let type = 0;
  for (const { number, wireType, value } of fields(cluster)) {
    if (number === field.name && wireType === 2) name = (value as Buffer).toString("utf8");
    else if (number === field.type && wireType === 0) type = value as number;
  }
  return type === field.eds && name !== "" ? name : undefined;
}

const HCM = `type.googleapis.com/${HCM_TYPE}`;

/** The RDS route_config_name of every HTTP connection manager in a Listener. */
export function rdsRouteNames(listener: Buffer): string[] {
  const field = fieldNumbers();
  const names: string[] = [];
  // Listener.filter_chains and default_filter_chain → FilterChain.filters →
  // Filter.typed_config (an Any) → HttpConnectionManager.rds → Rds.route_config_name.
  const chains = [
    ...bytesOf(listener, field.listener.filterChains),
    ...bytesOf(listener, field.listener.defaultFilterChain),
  ];
  for (const chain of chains)
    for (const filter of bytesOf(chain, field.filterChainFilters))
      for (const any of bytesOf(filter, field.filterTypedConfig)) {
        if (stringOf(any, field.any.typeUrl) !== HCM) continue;
        for (const hcm of bytesOf(any, field.any.value))
          for (const rds of bytesOf(hcm, field.hcmRds)) {
            const name = stringOf(rds, field.rdsRouteConfigName);
            if (name) names.push(name);
          }
      }
  return names;
}
