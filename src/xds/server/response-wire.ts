// DiscoveryResponse and DeltaDiscoveryResponse to protobuf bytes, written directly: a response
// is a few strings around resources that are already encoded (each an Any of type URL and
// bytes), so one allocation and one copy of each resource's bytes is all it takes. Through
// protobufjs's reflection the same took most of a full push's serialization time (an object
// conversion and a writer operation per resource, and the bytes copied twice).
import type { DeltaDiscoveryResponse, DiscoveryResponse } from "../discovery-messages.ts";
import type { AnyMessage } from "../resource-codec.ts";

const LENGTH_DELIMITED = 2;
const tag = (field: number) => (field << 3) | LENGTH_DELIMITED;

// Field numbers (envoy/service/discovery/v3/discovery.proto, google/protobuf/any.proto).
const RESPONSE = { versionInfo: 1, resources: 2, typeUrl: 4, nonce: 5 } as const;
const DELTA = {
  systemVersionInfo: 1,
  resources: 2,
  typeUrl: 4,
  nonce: 5,
  removedResources: 6,
} as const;
const DELTA_RESOURCE = { version: 1, resource: 2, name: 3 } as const;
const ANY = { typeUrl: 1, value: 2 } as const;

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Bytes of a length-delimited field holding `length` bytes. */
const fieldSize = (field: number, length: number) =>
  varintSize(tag(field)) + varintSize(length) + length;

// Resources of a response share a handful of type URLs: their UTF-8 bytes are kept.
const utf8Cache = new Map<string, Buffer>();
const UTF8_CACHE_LIMIT = 64;

function typeUrlBytes(typeUrl: string): Buffer {
  let bytes = utf8Cache.get(typeUrl);
  if (!bytes) {
    bytes = Buffer.from(typeUrl, "utf8");
    if (utf8Cache.size < UTF8_CACHE_LIMIT) utf8Cache.set(typeUrl, bytes);
  }
  return bytes;
}

function anySize(any: AnyMessage): number {
  const typeUrl = typeUrlBytes(any.type_url).length;
  return (
    (typeUrl > 0 ? fieldSize(ANY.typeUrl, typeUrl) : 0) +
    (any.value.length > 0 ? fieldSize(ANY.value, any.value.length) : 0)
  );
}

/** Where a response is written: a buffer of exactly `size` bytes. */
export type Allocate = (size: number) => Buffer;

const fresh: Allocate = (size) => Buffer.allocUnsafe(size);

/**
 * One buffer reused for every response, for a caller that copies the bytes away before it
 * serializes the next: grpc-js's server does (serializeMessage copies the message into its own
 * framed buffer at once). A full push allocates megabytes per proxy, which costs page faults and
 * garbage collections; this halves it. Responses above `keepLimit` bytes get a buffer of their own.
 */
export function scratchAllocator(keepLimit = 16 * 2 ** 20): Allocate {
  let scratch = Buffer.alloc(0);
  return (size) => {
    if (size > keepLimit) return Buffer.allocUnsafe(size);
    if (scratch.length < size)
      scratch = Buffer.allocUnsafe(Math.min(keepLimit, 2 ** Math.ceil(Math.log2(size))));
    return scratch.subarray(0, size);
  };
}

/** Writes into one buffer; sizes are computed beforehand, so it never grows. */
class Out {
  readonly buffer: Buffer;
  #at = 0;

  constructor(size: number, allocate: Allocate) {
    this.buffer = allocate(size);
  }

  varint(value: number): void {
    while (value >= 0x80) {
      this.buffer[this.#at++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buffer[this.#at++] = value;
  }

  header(field: number, length: number): void {
    this.varint(tag(field));
    this.varint(length);
  }

  /** Bytes already in wire form. */
  raw(bytes: Uint8Array): void {
    this.buffer.set(bytes, this.#at);
    this.#at += bytes.length;
  }

  bytes(field: number, bytes: Uint8Array): void {
    this.header(field, bytes.length);
    this.buffer.set(bytes, this.#at);
    this.#at += bytes.length;
  }

  /** A string field; proto3 leaves empty ones out. */
  string(field: number, value: string): void {
    if (value === "") return;
    const length = Buffer.byteLength(value, "utf8");
    this.header(field, length);
    this.#at += this.buffer.write(value, this.#at, length, "utf8");
  }

  any(field: number, any: AnyMessage, size: number): void {
    this.header(field, size);
    const typeUrl = typeUrlBytes(any.type_url);
    if (typeUrl.length > 0) this.bytes(ANY.typeUrl, typeUrl);
    if (any.value.length > 0) this.bytes(ANY.value, any.value);
  }

  done(): Buffer {
    if (this.#at !== this.buffer.length)
      throw new Error(`xDS response size mismatch: wrote ${this.#at} of ${this.buffer.length}`);
    return this.buffer;
  }
}

const stringSize = (field: number, value: string) =>
  value === "" ? 0 : fieldSize(field, Buffer.byteLength(value, "utf8"));

/*
 * Every proxy given the same set of resources in full (the EDS of a thousand sidecars that see
 * the same services) gets the same bytes between its response's version and nonce. A list of
 * resources marked shared (frozen: it never changes) gets those bytes built once it is
 * serialized a second time, and then copied whole: one copy instead of two per resource.
 */
const sharedLists = new WeakMap<readonly AnyMessage[], { uses: number; block?: Buffer }>();
/** Below this many resources, copying them one by one costs about as much as a block. */
const BLOCK_MIN_RESOURCES = 16;

/** Marks `resources` (frozen) as served to many connections in full. */
export function shareResourceList(resources: readonly AnyMessage[]): void {
  if (Object.isFrozen(resources) && resources.length >= BLOCK_MIN_RESOURCES)
    sharedLists.set(resources, { uses: 0 });
}

/** The `resources` fields of a shared list, once it has been serialized before. */
function resourcesBlock(resources: readonly AnyMessage[]): Buffer | undefined {
  const shared = sharedLists.get(resources);
  if (!shared) return undefined;
  if (!shared.block && ++shared.uses >= 2) {
    const sizes = resources.map(anySize);
    let size = 0;
    for (const s of sizes) size += fieldSize(RESPONSE.resources, s);
    const out = new Out(size, fresh);
    for (const [i, any] of resources.entries()) out.any(RESPONSE.resources, any, sizes[i]!);
    shared.block = out.done();
  }
  return shared.block;
}

export function serializeDiscoveryResponse(
  response: DiscoveryResponse,
  allocate: Allocate = fresh,
): Buffer {
  const block = resourcesBlock(response.resources);
  const anySizes = block ? [] : response.resources.map(anySize);
  let size =
    stringSize(RESPONSE.versionInfo, response.version_info) +
    stringSize(RESPONSE.typeUrl, response.type_url) +
    stringSize(RESPONSE.nonce, response.nonce) +
    (block?.length ?? 0);
  for (const s of anySizes) size += fieldSize(RESPONSE.resources, s);
  const out = new Out(size, allocate);
  out.string(RESPONSE.versionInfo, response.version_info);
  if (block) out.raw(block);
  else
    for (const [i, any] of response.resources.entries())
      out.any(RESPONSE.resources, any, anySizes[i]!);
  out.string(RESPONSE.typeUrl, response.type_url);
  out.string(RESPONSE.nonce, response.nonce);
  return out.done();
}

export function serializeDeltaDiscoveryResponse(
  response: DeltaDiscoveryResponse,
  allocate: Allocate = fresh,
): Buffer {
  const sizes = response.resources.map((r) => {
    const any = r.resource ? anySize(r.resource) : undefined;
    const own =
      stringSize(DELTA_RESOURCE.version, r.version) +
      (any === undefined ? 0 : fieldSize(DELTA_RESOURCE.resource, any)) +
      stringSize(DELTA_RESOURCE.name, r.name);
    return { any, own };
  });
  let size =
    stringSize(DELTA.systemVersionInfo, response.system_version_info) +
    stringSize(DELTA.typeUrl, response.type_url) +
    stringSize(DELTA.nonce, response.nonce);
  for (const s of sizes) size += fieldSize(DELTA.resources, s.own);
  // Repeated strings keep empty elements: each is one element of the list.
  for (const name of response.removed_resources)
    size += fieldSize(DELTA.removedResources, Buffer.byteLength(name, "utf8"));
  const out = new Out(size, allocate);
  out.string(DELTA.systemVersionInfo, response.system_version_info);
  response.resources.forEach((r, i) => {
    const { any, own } = sizes[i]!;
    out.header(DELTA.resources, own);
    out.string(DELTA_RESOURCE.version, r.version);
    if (r.resource && any !== undefined) out.any(DELTA_RESOURCE.resource, r.resource, any);
    out.string(DELTA_RESOURCE.name, r.name);
  });
  out.string(DELTA.typeUrl, response.type_url);
  out.string(DELTA.nonce, response.nonce);
  for (const name of response.removed_resources)
    out.bytes(DELTA.removedResources, Buffer.from(name, "utf8"));
  return out.done();
}
