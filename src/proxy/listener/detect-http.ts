// Envoy's http_inspector: sniffs the HTTP/2 connection preface or an HTTP/1.x request line from a
// plaintext connection's first bytes. Bounded and total: never throws on any input.

/** "need-more" when the bytes so far are a prefix of something that could still match. */
export type HttpDetection = "http/1.0" | "http/1.1" | "h2c" | "need-more" | undefined;

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Methods http-parser (behind Envoy's inspector) accepts. */
const METHODS = new Set(
  (
    "DELETE GET HEAD POST PUT CONNECT OPTIONS TRACE COPY LOCK MKCOL MOVE PROPFIND PROPPATCH SEARCH " +
    "UNLOCK BIND REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE M-SEARCH NOTIFY SUBSCRIBE " +
    "UNSUBSCRIBE PATCH PURGE MKCALENDAR LINK UNLINK SOURCE"
  ).split(" "),
);
const LONGEST_METHOD = 11;

/** Envoy's inspector gives up after this many bytes (64 KiB). */
export const MAX_HTTP_INSPECT_BYTES = 64 * 1024;

function prefixOf(bytes: Uint8Array, of: Uint8Array): boolean {
  const n = Math.min(bytes.length, of.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== of[i]) return false;
  return true;
}

export function detectHttp(bytes: Uint8Array): HttpDetection {
  if (bytes.length === 0) return "need-more";
  if (prefixOf(bytes, H2_PREFACE)) return bytes.length >= H2_PREFACE.length ? "h2c" : "need-more";
  const limit = Math.min(bytes.length, MAX_HTTP_INSPECT_BYTES);
  let sp = -1;
  for (let i = 0; i < Math.min(limit, LONGEST_METHOD + 1); i++) {
    if (bytes[i] === 0x20) {
      sp = i;
      break;
    }
  }
  if (sp === -1) {
    if (limit > LONGEST_METHOD) return undefined;
    const partial = Buffer.from(bytes.subarray(0, limit)).toString("latin1");
    for (const m of METHODS) if (m.startsWith(partial)) return "need-more";
    return undefined;
  }
  if (!METHODS.has(Buffer.from(bytes.subarray(0, sp)).toString("latin1"))) return undefined;
  let eol = -1;
  for (let i = sp + 1; i < limit; i++) {
    const b = bytes[i] as number;
    if (b === 0x0a || b === 0x0d) {
      eol = i;
      break;
    }
    if (b < 0x20 || b === 0x7f) return undefined;
  }
  if (eol === -1) return limit >= MAX_HTTP_INSPECT_BYTES ? undefined : "need-more";
  const line = Buffer.from(bytes.subarray(sp + 1, eol)).toString("latin1");
  const match = /^\S+ HTTP\/1\.([01])$/.exec(line);
  if (!match) return undefined;
  return match[1] === "0" ? "http/1.0" : "http/1.1";
}
