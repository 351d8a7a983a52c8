// DiscoveryRequest from protobuf bytes, the common case read directly. A state-of-the-world
// client repeats every resource name it wants in each request, ACKs included: a sidecar's EDS
// ACK carries a thousand cluster names, so a thousand sidecars ACKing one push is a million
// strings. Here ASCII-only messages (names, versions and nonces are) are read natively, and a
// list of names whose bytes were seen lately is the same (frozen) list again: no strings at all,
// and the subscription sees the list it already has. Anything else goes to the full decoder.
import { isAscii } from "node:buffer";
import { type DiscoveryRequest, decodeDiscoveryRequest } from "../discovery-messages.ts";

const LENGTH_DELIMITED = 2;
// Field numbers (envoy/service/discovery/v3/discovery.proto); node (2), error_detail (6) and
// resource_locators (7) take the full decoder.
const VERSION_INFO = 1;
const RESOURCE_NAMES = 3;
const TYPE_URL = 4;
const RESPONSE_NONCE = 5;

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

/** Only strings at fields 1, 3, 4, 5 with single-byte keys; undefined for anything else. */
function readSimple(bytes: Buffer): DiscoveryRequest | undefined {
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
  let at = 0;
  while (at < bytes.length) {
    const fieldStart = at;
    const key = bytes[at++]!;
    if ((key & 7) !== LENGTH_DELIMITED) return undefined;
    let length = 0;
    let shift = 0;
    let byte: number;
    do {
      if (at >= bytes.length || shift > 28) return undefined;
      byte = bytes[at++]!;
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    const end = at + length;
    if (end > bytes.length) return undefined;
    const field = key >>> 3;
    if (field === RESOURCE_NAMES) {
      if (namesStart < 0) namesStart = fieldStart;
      else if (namesEnd !== fieldStart) contiguous = false;
      namesEnd = end;
      at = end;
      continue;
    }
    const value = bytes.toString("latin1", at, end);
    at = end;
    if (field === VERSION_INFO) request.version_info = value;
    else if (field === TYPE_URL) request.type_url = value;
    else if (field === RESPONSE_NONCE) request.response_nonce = value;
    else return undefined;
  }
  if (namesStart >= 0) request.resource_names = readNames(bytes, namesStart, namesEnd, contiguous);
  return request;
}

/** The names in [start, end) (every field 3 in it, when not contiguous: up to the end). */
function readNames(bytes: Buffer, start: number, end: number, contiguous: boolean): string[] {
  const region = bytes.subarray(start, end);
  const cacheable = contiguous && region.length >= RECENT_MIN_BYTES;
  const recent = cacheable ? recentList(region) : undefined;
  // Frozen and shared: nothing changes a request's names (the subscription only reads them).
  if (recent) return recent as string[];
  const names: string[] = [];
  let at = start;
  while (at < end) {
    const key = bytes[at++]!;
    let length = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = bytes[at++]!;
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    if (key >>> 3 === RESOURCE_NAMES) names.push(bytes.toString("latin1", at, at + length));
    at += length;
  }
  if (cacheable) remember(region, names);
  return names;
}
