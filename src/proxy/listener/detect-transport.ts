// Envoy's tls_inspector: recognises a TLS ClientHello in a connection's first bytes and extracts
// SNI and ALPN. A small bounded parser that never throws: non-TLS or malformed bytes are
// "raw_buffer" (Envoy's tls_not_found), partial ones "need-more", oversized ones "too-large".

export type TransportDetection =
  | { kind: "tls"; serverName?: string; applicationProtocols: string[] }
  | { kind: "raw_buffer" }
  | { kind: "need-more" }
  /** The ClientHello exceeds the inspector's limit: Envoy closes the connection. */
  | { kind: "too-large" };

/** Envoy's TLS inspector default max_client_hello_size. */
export const MAX_CLIENT_HELLO = 64 * 1024;
const MAX_RECORD = 16384 + 2048;

const RAW: TransportDetection = { kind: "raw_buffer" };
const MORE: TransportDetection = { kind: "need-more" };
const TOO_LARGE: TransportDetection = { kind: "too-large" };

class Reader {
  readonly b: Uint8Array;
  readonly end: number;
  pos: number;
  constructor(b: Uint8Array, start: number, end: number) {
    this.b = b;
    this.pos = start;
    this.end = end;
  }
  u8(): number {
    if (this.pos + 1 > this.end) throw RangeError();
    return this.b[this.pos++] as number;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  /** A sub-reader over the next `n` bytes. */
  take(n: number): Reader {
    if (this.pos + n > this.end) throw RangeError();
    const r = new Reader(this.b, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  get left(): number {
    return this.end - this.pos;
  }
  text(): string {
    return Buffer.from(this.b.subarray(this.pos, this.end)).toString("latin1");
  }
}

function parseClientHello(body: Reader): TransportDetection | undefined {
  body.u16(); // legacy_version
  body.take(32); // random
  const session = body.u8();
  if (session > 32) return undefined;
  body.take(session);
  const ciphers = body.u16();
  if (ciphers === 0 || ciphers % 2 !== 0) return undefined;
  body.take(ciphers);
  const compression = body.u8();
  if (compression === 0) return undefined;
  body.take(compression);
  const out: TransportDetection & { kind: "tls" } = { kind: "tls", applicationProtocols: [] };
  if (body.left === 0) return out;
  const exts = body.take(body.u16());
  if (body.left !== 0) return undefined;
  const seen = new Set<number>();
  while (exts.left > 0) {
    const type = exts.u16();
    const data = exts.take(exts.u16());
    if (seen.has(type)) return undefined;
    seen.add(type);
    if (type === 0) {
      const list = data.take(data.u16());
      if (data.left !== 0 || list.left === 0) return undefined;
      while (list.left > 0) {
        const nameType = list.u8();
        const name = list.take(list.u16());
        if (nameType === 0 && out.serverName === undefined) {
          const host = name.text();
          if (host.length === 0 || host.includes("\0")) return undefined;
          out.serverName = host;
        }
      }
    } else if (type === 16) {
      const list = data.take(data.u16());
      if (data.left !== 0 || list.left === 0) return undefined;
      while (list.left > 0) {
        const proto = list.take(list.u8());
        if (proto.left === 0) return undefined;
        out.applicationProtocols.push(proto.text());
      }
    }
  }
  return out;
}

/** Sniffs `bytes` (everything read so far) for a TLS ClientHello. */
export function detectTransport(bytes: Uint8Array): TransportDetection {
  // Reassemble the handshake message from (possibly several) handshake records.
  const hs: Uint8Array[] = [];
  let hsLen = 0;
  let pos = 0;
  let need = -1; // total handshake bytes (header + body), once known
  while (need === -1 || hsLen < need) {
    if (pos >= bytes.length) return MORE;
    if (bytes[pos] !== 0x16) return RAW;
    if (pos + 1 < bytes.length && bytes[pos + 1] !== 0x03) return RAW;
    if (pos + 2 < bytes.length && (bytes[pos + 2] as number) > 0x04) return RAW;
    if (pos + 5 > bytes.length) return MORE;
    const len = ((bytes[pos + 3] as number) << 8) | (bytes[pos + 4] as number);
    if (len === 0 || len > MAX_RECORD) return RAW;
    const fragment = bytes.subarray(pos + 5, Math.min(pos + 5 + len, bytes.length));
    hs.push(fragment);
    hsLen += fragment.length;
    if (need === -1 && hsLen >= 4) {
      const head = Buffer.concat(hs).subarray(0, 4);
      if (head[0] !== 0x01) return RAW;
      need = 4 + (((head[1] as number) << 16) | ((head[2] as number) << 8) | (head[3] as number));
      if (need > MAX_CLIENT_HELLO) return TOO_LARGE;
    }
    if (fragment.length < len) return need !== -1 && hsLen >= need ? parse(hs, need) : MORE;
    pos += 5 + len;
  }
  return parse(hs, need);
}

function parse(fragments: Uint8Array[], need: number): TransportDetection {
  const message = Buffer.concat(fragments).subarray(0, need);
  try {
    return parseClientHello(new Reader(message, 4, need)) ?? RAW;
  } catch {
    return RAW;
  }
}
