// X.509 carries an ECDSA signature as a DER SEQUENCE of r and s; node:crypto can verify that form
// directly, but it is stricter than @peculiar/x509 was (which decoded it with the ASN.1 schema,
// then padded r and s to the curve's size for WebCrypto). Converting the same way keeps which
// CSRs verify, and which are refused as malformed rather than as not verifying, unchanged.
import {
  AsnConvert,
  AsnIntegerArrayBufferConverter,
  AsnProp,
  AsnPropTypes,
} from "@peculiar/asn1-schema";

/** ECDSA-Sig-Value (RFC 3279), the decorators applied by hand: type stripping has no decorators. */
class EcdsaSigValue {
  r = new ArrayBuffer(0);
  s = new ArrayBuffer(0);
}
const INTEGER = { type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter };
AsnProp(INTEGER)(EcdsaSigValue.prototype, "r");
AsnProp(INTEGER)(EcdsaSigValue.prototype, "s");

/** An integer's magnitude left-padded to `size` bytes; throws when it does not fit. */
function fixedWidth(integer: ArrayBuffer, size: number): Uint8Array {
  let bytes = new Uint8Array(integer);
  const first = bytes.findIndex((byte) => byte !== 0);
  if (first > 0) bytes = bytes.subarray(first);
  if (bytes.length > size) {
    throw new RangeError(`an ECDSA signature integer is longer than ${size} bytes`);
  }
  const padded = new Uint8Array(size);
  padded.set(bytes, size - bytes.length);
  return padded;
}

/** The IEEE P1363 form (r‖s, each `pointSize` bytes) of a DER ECDSA signature; throws if malformed. */
export function ecdsaSignatureToP1363(der: ArrayBuffer, pointSize: number): Uint8Array {
  const { r, s } = AsnConvert.parse(der, EcdsaSigValue);
  const p1363 = new Uint8Array(2 * pointSize);
  p1363.set(fixedWidth(r, pointSize), 0);
  p1363.set(fixedWidth(s, pointSize), pointSize);
  return p1363;
}
