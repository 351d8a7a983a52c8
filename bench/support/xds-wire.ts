// Just enough protobuf wire reading for the benchmark's simulated proxies: a DiscoveryResponse's
// envelope, cluster names of EDS clusters and the route names listeners use through RDS. A full
// decode of every resource (what a real proxy does) would make a thousand simulated proxies in
// one process measure themselves rather than the control plane.
import protobuf from "protobufjs";

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
  const anys: Buffer[] = [];
  const response: ResponseEnvelope = {
    versionInfo: "",
    typeUrl: "",
    nonce: "",
    resources: () => anys.map((any) => bytesOf(any, 2).at(-1) ?? any),
  };
  for (const field of fields(message)) {
    if (field.wireType !== 2) continue;
    const value = field.value as Buffer;
    if (field.number === 1) response.versionInfo = value.toString("utf8");
    else if (field.number === 2) anys.push(value);
    else if (field.number === 4) response.typeUrl = value.toString("utf8");
    else if (field.number === 5) response.nonce = value.toString("utf8");
  }
  return response;
}

const EDS = 3;

/** Cluster.name of a Cluster whose discovery type is EDS, else undefined. */
export function edsClusterName(cluster: Buffer): string | undefined {
  let name = "";
  let type = 0;
  for (const field of fields(cluster)) {
    if (field.number === 1 && field.wireType === 2) name = (field.value as Buffer).toString("utf8");
    else if (field.number === 2 && field.wireType === 0) type = field.value as number;
  }
  return type === EDS && name !== "" ? name : undefined;
}

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

/** The RDS route_config_name of every HTTP connection manager in a Listener. */
export function rdsRouteNames(listener: Buffer): string[] {
  const names: string[] = [];
  // Listener.filter_chains (3) and default_filter_chain (25) → FilterChain.filters (3) →
  // Filter.typed_config (4, an Any) → HttpConnectionManager.rds (3) → route_config_name (2).
  const chains = [...bytesOf(listener, 3), ...bytesOf(listener, 25)];
  for (const chain of chains)
    for (const filter of bytesOf(chain, 3))
      for (const any of bytesOf(filter, 4)) {
        if (stringOf(any, 1) !== HCM) continue;
        for (const hcm of bytesOf(any, 2))
          for (const rds of bytesOf(hcm, 3)) {
            const name = stringOf(rds, 2);
            if (name) names.push(name);
          }
      }
  return names;
}
