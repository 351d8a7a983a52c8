// DiscoveryResponse and DeltaDiscoveryResponse to protobuf bytes, field by field on protobufjs's
// Writer: a response is a few strings around resources that are already encoded (each an Any of
// type URL and bytes), so it needs none of protobufjs's reflection, which took most of a full
// push's serialization time (an object conversion per resource, a fresh writer grown from 128
// bytes for each response). The keys come from the loaded descriptors (field-keys.ts), every
// varint and length from protobufjs; fields are written in field-number order, as protobufjs's
// own encoder writes them, so the bytes are the same as its.
import protobuf from "protobufjs";
import type { DeltaDiscoveryResponse, DiscoveryResponse } from "../discovery-messages.ts";
import { messageType } from "../envoy-protos.ts";
import type { AnyMessage } from "../resource-codec.ts";
import { keysOf } from "./field-keys.ts";

const NAMESPACE = "envoy.service.discovery.v3";
const responseKeys = keysOf(`${NAMESPACE}.DiscoveryResponse`, [
  "version_info",
  "resources",
  "type_url",
  "nonce",
]);
const deltaKeys = keysOf(`${NAMESPACE}.DeltaDiscoveryResponse`, [
  "system_version_info",
  "resources",
  "type_url",
  "nonce",
  "removed_resources",
]);
const resourceKeys = keysOf(`${NAMESPACE}.Resource`, ["version", "resource", "name"]);

let anyType: protobuf.Type | undefined;

/** An Any as a message field, written by protobufjs's encoder for Any (as its encoder for the
 * whole response does). */
function writeAny(writer: protobuf.Writer, key: number, any: AnyMessage): void {
  anyType ??= messageType("google.protobuf.Any");
  anyType.encode(any, writer.uint32(key).fork()).ldelim();
}

/** A string field; proto3 leaves empty ones out. */
function writeString(writer: protobuf.Writer, key: number, value: string): void {
  if (value !== "") writer.uint32(key).string(value);
}

/** Where a response is written: a buffer of exactly `size` bytes. */
export type Allocate = (size: number) => Buffer;

const fresh: Allocate = (size) => Buffer.allocUnsafe(size);

/*
 * A writer grows its buffer by doubling from 128 bytes, and for a response of a megabyte that
 * costs more than writing it: a writer is kept between responses (serializing is synchronous, so
 * one per slot is all it takes). One whose buffer grew past the slot's limit is dropped rather
 * than kept, and so is one whose response failed half-way (its forks may be open).
 */
class WriterSlot {
  readonly #keepLimit: number;
  #writer: protobuf.Writer | undefined;

  constructor(keepLimit: number) {
    this.#keepLimit = keepLimit;
  }

  take(): protobuf.Writer {
    const writer = this.#writer?.reset() ?? protobuf.Writer.create();
    this.#writer = undefined;
    return writer;
  }

  /** Whether the writer is kept for the next response. */
  give(writer: protobuf.Writer): boolean {
    if (writer.buf.length > this.#keepLimit) return false;
    this.#writer = writer;
    return true;
  }
}

const defaultSlot = new WriterSlot(16 * 2 ** 20);
/** The writers of scratch allocators, each its own: a response handed out by one stays valid
 * until that allocator's next response, whatever else is serialized in between. */
const scratchSlots = new WeakMap<Allocate, WriterSlot>();

/**
 * For a caller that copies each response away before it serializes the next: grpc-js's server
 * does (serializeMessage copies the message into its own framed buffer at once). A response
 * serialized with it is a view of one writer's buffer, reused for every response, rather than a
 * fresh buffer: a full push would otherwise allocate megabytes per proxy (page faults, garbage
 * collections) or copy each response once more. A response that grew the writer past
 * `keepLimit` bytes gets a buffer of its own. Called directly, it allocates a buffer each time.
 */
export function scratchAllocator(keepLimit = 16 * 2 ** 20): Allocate {
  const allocate: Allocate = (size) => Buffer.allocUnsafe(size);
  scratchSlots.set(allocate, new WriterSlot(keepLimit));
  return allocate;
}

function serialize(write: (writer: protobuf.Writer) => void, allocate: Allocate): Buffer {
  const scratch = scratchSlots.get(allocate);
  const slot = scratch ?? defaultSlot;
  const writer = slot.take();
  write(writer);
  if (scratch?.give(writer)) {
    const view = writer.finish(true);
    return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  }
  const bytes = writer.finishInto(allocate(writer.pos));
  if (!scratch) slot.give(writer);
  return bytes;
}

/*
 * Every proxy given the same set of resources in full (the EDS of a thousand sidecars that see
 * the same services) gets the same bytes between its response's version and type URL. A list of
 * resources marked shared (frozen: it never changes) gets those bytes built once it is
 * serialized a second time, and then appended whole (Writer.raw): one copy of the block instead
 * of an Any encoding per resource.
 */
const sharedLists = new WeakMap<readonly AnyMessage[], { uses: number; block?: Uint8Array }>();
/** Below this many resources, writing them one by one costs about as much as a block. */
const BLOCK_MIN_RESOURCES = 16;

/** Marks `resources` (frozen) as served to many connections in full. */
export function shareResourceList(resources: readonly AnyMessage[]): void {
  if (Object.isFrozen(resources) && resources.length >= BLOCK_MIN_RESOURCES)
    sharedLists.set(resources, { uses: 0 });
}

/** The `resources` fields of a shared list, once it has been serialized before. */
function resourcesBlock(resources: readonly AnyMessage[], key: number): Uint8Array | undefined {
  const shared = sharedLists.get(resources);
  if (!shared) return undefined;
  if (!shared.block && ++shared.uses >= 2) {
    // A writer of its own, finished into a buffer of the block's size: it is kept for long.
    const writer = protobuf.Writer.create();
    for (const any of resources) writeAny(writer, key, any);
    shared.block = writer.finish();
  }
  return shared.block;
}

export function serializeDiscoveryResponse(
  response: DiscoveryResponse,
  allocate: Allocate = fresh,
): Buffer {
  const keys = responseKeys();
  const block = resourcesBlock(response.resources, keys.resources);
  return serialize((writer) => {
    writeString(writer, keys.version_info, response.version_info);
    if (block) writer.raw(block);
    else for (const any of response.resources) writeAny(writer, keys.resources, any);
    writeString(writer, keys.type_url, response.type_url);
    writeString(writer, keys.nonce, response.nonce);
  }, allocate);
}

export function serializeDeltaDiscoveryResponse(
  response: DeltaDiscoveryResponse,
  allocate: Allocate = fresh,
): Buffer {
  const keys = deltaKeys();
  const resourceKey = resourceKeys();
  return serialize((writer) => {
    writeString(writer, keys.system_version_info, response.system_version_info);
    for (const r of response.resources) {
      writer.uint32(keys.resources).fork();
      writeString(writer, resourceKey.version, r.version);
      if (r.resource) writeAny(writer, resourceKey.resource, r.resource);
      writeString(writer, resourceKey.name, r.name);
      writer.ldelim();
    }
    writeString(writer, keys.type_url, response.type_url);
    writeString(writer, keys.nonce, response.nonce);
    // Repeated strings keep empty elements: each is one element of the list.
    for (const name of response.removed_resources)
      writer.uint32(keys.removed_resources).string(name);
  }, allocate);
}
