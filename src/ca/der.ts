// DER's tag-length-value framing, to assemble a structure from parts that are already encoded:
// the ASN.1 schemas would decode and re-encode every part on each use, which costs more than the
// signature itself.

/** DER tags of the universal types built here. */
export const DER_INTEGER = 0x02;
export const DER_BIT_STRING = 0x03;
export const DER_SEQUENCE = 0x30;

/** The definite-length octets for a content of `length` bytes (short form below 128). */
function lengthOctets(length: number): number[] {
  if (length < 0x80) return [length];
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return [0x80 | octets.length, ...octets];
}

/** One TLV whose value is the parts, in order. */
export function derTlv(tag: number, ...parts: readonly Uint8Array[]): Uint8Array {
  const length = parts.reduce((total, part) => total + part.length, 0);
  return Buffer.concat([Uint8Array.from([tag, ...lengthOctets(length)]), ...parts]);
}
