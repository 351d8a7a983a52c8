// Simulated proxies for the control-plane benchmark, run as a child process (forked with IPC):
// each one is a state-of-the-world ADS stream on its own connection that subscribes as Envoy
// does (CDS and LDS wildcard, then EDS for the EDS clusters and RDS for the routes its listeners
// name) and ACKs every response without decoding the resources. Each ACK is reported to the
// parent with the time it was written and the response's size.
import { performance } from "node:perf_hooks";
import { Client, credentials, Metadata } from "@grpc/grpc-js";
import { encodeDiscoveryRequest } from "../../src/xds/discovery-messages.ts";
import { TYPE_URL } from "../../src/xds/type-urls.ts";
import {
  type Ack,
  benchNode,
  type LoadClientCommand,
  type LoadClientMessage,
} from "./xds-load-protocol.ts";
import { edsClusterName, rdsRouteNames, readDiscoveryResponse } from "./xds-wire.ts";

const ADS_PATH = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";

interface TypeState {
  version: string;
  nonce: string;
  /** undefined for the wildcard types. */
  names: string[] | undefined;
}

const now = () => performance.timeOrigin + performance.now();
const ENVOY_WINDOW = Number(process.env.CREMA_BENCH_XDS_WINDOW ?? 256 * 2 ** 20);
const send = (message: LoadClientMessage) => process.send!(message);

const pending: Ack[] = [];
function report(ack: Ack): void {
  if (pending.length === 0) setImmediate(() => send({ kind: "acks", acks: pending.splice(0) }));
  pending.push(ack);
}

function simulatedProxy(address: string, index: number): () => void {
  // Its own subchannel pool: one TCP connection per proxy, as real sidecars have, rather than
  // grpc-js sharing one connection among channels to the same address.
  const client = new Client(address, credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
    "grpc.max_receive_message_length": 256 * 1024 * 1024,
    // HTTP/2 receive windows as Envoy's defaults (Http2ProtocolOptions initial stream and
    // connection window: 256 MiB), not HTTP/2's 64 KiB: with those, a 2 MB response needs
    // thirty-odd WINDOW_UPDATE round trips, and the server waits for them rather than works.
    "grpc-node.flow_control_window": ENVOY_WINDOW,
  });
  const call = client.makeBidiStreamRequest(
    ADS_PATH,
    encodeDiscoveryRequest,
    (bytes: Buffer) => bytes,
    new Metadata({ waitForReady: true }),
  );
  const types = new Map<string, TypeState>([
    [TYPE_URL.cluster, { version: "", nonce: "", names: undefined }],
    [TYPE_URL.clusterLoadAssignment, { version: "", nonce: "", names: [] }],
    [TYPE_URL.listener, { version: "", nonce: "", names: undefined }],
    [TYPE_URL.routeConfiguration, { version: "", nonce: "", names: [] }],
  ]);
  let node: ReturnType<typeof benchNode> | undefined = benchNode(index);
  const request = (typeUrl: string) => {
    const state = types.get(typeUrl)!;
    call.write({
      version_info: state.version,
      resource_names: state.names ?? [],
      type_url: typeUrl,
      response_nonce: state.nonce,
      ...(node ? { node } : {}),
    });
    node = undefined;
  };
  /** Subscribes `typeUrl` to `names` when they differ from what it asked for. */
  const subscribe = (typeUrl: string, names: string[]) => {
    const state = types.get(typeUrl)!;
    const sorted = [...new Set(names)].sort();
    if (sorted.join("\n") === state.names!.join("\n")) return;
    state.names = sorted;
    request(typeUrl);
  };
  call.on("data", (message: Buffer) => {
    const response = readDiscoveryResponse(message);
    const state = types.get(response.typeUrl);
    if (!state) return;
    state.version = response.versionInfo;
    state.nonce = response.nonce;
    request(response.typeUrl);
    report([index, response.typeUrl, response.versionInfo, message.length, now()]);
    if (response.typeUrl === TYPE_URL.cluster)
      subscribe(
        TYPE_URL.clusterLoadAssignment,
        response
          .resources()
          .map(edsClusterName)
          .filter((n) => n !== undefined),
      );
    else if (response.typeUrl === TYPE_URL.listener)
      subscribe(TYPE_URL.routeConfiguration, response.resources().flatMap(rdsRouteNames));
  });
  let closing = false;
  call.on("error", () => {});
  call.on("status", (status: { code: number; details: string }) => {
    if (!closing)
      send({ kind: "failed", proxy: index, reason: `${status.code}: ${status.details}` });
  });
  request(TYPE_URL.cluster);
  request(TYPE_URL.listener);
  return () => {
    closing = true;
    call.cancel();
    client.close();
  };
}

const stops: Array<() => void> = [];
process.on("message", (command: LoadClientCommand) => {
  if (command.kind === "start") {
    for (let i = command.first; i < command.first + command.count; i++)
      stops.push(simulatedProxy(command.address, i));
  } else if (command.kind === "stop") {
    for (const stop of stops.splice(0)) stop();
    process.send!({ kind: "stopped" } satisfies LoadClientMessage, () => process.exit(0));
  }
});
// Envoy's descriptors load on first use: before "ready", so that it is not timed.
encodeDiscoveryRequest({ version_info: "", resource_names: [], type_url: "", response_nonce: "" });
send({ kind: "ready" });
// Nothing here outlives the parent: if it dies, so do the proxies.
process.on("disconnect", () => process.exit(0));
