// DiscoveryRequest from protobuf bytes, the common case read field by field with protobufjs's
// Reader. A state-of-the-world client repeats every resource name it wants in each request, ACKs
// included: a sidecar's EDS ACK carries a thousand cluster names, so a thousand sidecars ACKing
// one push is a million strings. Here a message of only strings (names, versions, nonces) is
// read without protobufjs's reflection, and a list of names whose bytes were seen lately is the
// same (frozen) list again: no strings at all, and the subscription sees the list it already has.
// Anything else (a node, an error detail, non-ASCII text, malformed bytes) goes to the full
// decoder.
import { isAscii } from "node:buffer";
import protobuf from "protobufjs";
import { type DiscoveryRequest, decodeDiscoveryRequest } from "../discovery-messages.ts";
import { keysOf } from "./field-keys.ts";

// node, error_detail and resource_locators take the full decoder.
const requestKeys = keysOf("envoy.service.discovery.v3.DiscoveryRequest", [
  "version_info",
  "resource_names",
  "type_url",
  "response_nonce",
]);

/** What the full decoder gives for the same bytes. */
export function readDiscoveryRequest(bytes: Buffer): DiscoveryRequest {
  return (isAscii(bytes) && readSimple(bytes)) || decodeDiscoveryRequest(bytes);
}

/** Name lists lately read, by the bytes they were read from (byte length first). */
const recentNames = new Map<number, Array<{ bytes: Buffer; names: readonly string[] }>>();
let recentCount = 0;
/** Enough for the few distinct lists a fleet of proxies repeats; each holds its bytes. */
const RECENT_LIMIT = 64;
/** Shorter lists are cheaper to read than to look up. */
const RECENT_MIN_BYTES = 1024;

function recentList(region: Buffer): readonly string[] | undefined {
  return recentNames.get(region.length)?.find((entry) => entry.bytes.equals(region))?.names;
}

function remember(region: Buffer, names: string[]): void {
  if (recentCount >= RECENT_LIMIT) {
    recentNames.clear();
    recentCount = 0;
  }
  const entries = recentNames.get(region.length) ?? [];
  entries.push({ bytes: Buffer.from(region), names: Object.freeze(names) });
  recentNames.set(region.length, entries);
  recentCount++;
}

/** Only the string fields version_info, resource_names, type_url and response_nonce; undefined
 * for anything else. The caller has checked the bytes are ASCII: their strings are valid UTF-8,
 * so Reader.string gives what the full decoder's Reader.stringVerify would. */
function readSimple(bytes: Buffer): DiscoveryRequest | undefined {
  const keys = requestKeys();
  const request: DiscoveryRequest & { resource_locators: [] } = {
    version_info: "",
    resource_names: [],
    resource_locators: [],
    type_url: "",
    response_nonce: "",
  };
  // The names, when they are one run of fields: [start, end) of their bytes.
  let namesStart = -1;
  let namesEnd = -1;
  let contiguous = true;
  try {
    const reader = protobuf.Reader.create(bytes);
    while (reader.pos < reader.len) {
      const fieldStart = reader.pos;
      const key = reader.tag();
      if (key === keys.resource_names) {
        if (namesStart < 0) namesStart = fieldStart;
        else if (namesEnd !== fieldStart) contiguous = false;
        reader.skipType(key & 7);
        namesEnd = reader.pos;
      } else if (key === keys.version_info) request.version_info = reader.string();
      else if (key === keys.type_url) request.type_url = reader.string();
      else if (key === keys.response_nonce) request.response_nonce = reader.string();
      else return undefined;
    }
  } catch {
    // Malformed: the full decoder says what is wrong with it.
    return undefined;
  }
  if (namesStart >= 0)
    request.resource_names = readNames(
      bytes,
      namesStart,
      namesEnd,
      contiguous,
      keys.resource_names,
    );
  return request;
}

/** The names in [start, end) (every resource_names field in it, when not contiguous: the other
 * fields between them are skipped). The fields in it were all read once already. */
function readNames(
  bytes: Buffer,
  start: number,
  end: number,
  contiguous: boolean,
  namesKey: number,
): string[] {
  const region = bytes.subarray(start, end);
  const cacheable = contiguous && region.length >= RECENT_MIN_BYTES;
  const recent = cacheable ? recentList(region) : undefined;
  // Frozen and shared: nothing changes a request's names (the subscription only reads them).
  if (recent) return recent as string[];
  const names: string[] = [];
  const reader = protobuf.Reader.create(region);
  while (reader.pos < reader.len) {
    const key = reader.tag();
    if (key === namesKey) names.push(reader.string());
    else reader.skipType(key & 7);
  }
  if (cacheable) remember(region, names);
  return names;
}
