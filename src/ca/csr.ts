// A PKCS#10 request as the CA reads it: one PEM block, decoded with the ASN.1 schemas alone (what
// @peculiar/x509 parses underneath, without its per-object wrappers), and the URIs its
// subjectAltName request asks for. Whether the request's signature holds is csr-signature.ts.
import { CertificationRequest } from "@peculiar/asn1-csr";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Extensions, id_ce_subjectAltName, SubjectAlternativeName } from "@peculiar/asn1-x509";
import { CremaError } from "../base/errors.ts";
import { decodePemBlocks } from "./pem.ts";

/** A CSR is a few hundred bytes; anything this large is not one. */
export const MAX_CSR_BYTES = 64 * 1024;

/** PKCS#9 extensionRequest: the extensions a CSR asks the CA to put in the certificate. */
const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

export interface ParsedCsr {
  /** The DER the PEM block held. */
  readonly der: Uint8Array;
  readonly request: CertificationRequest;
  /** The requester's public key as SPKI DER, re-encoded from the parse as @peculiar/x509 did. */
  readonly spki: ArrayBuffer;
}

export function invalidCsr(reason: string): CremaError {
  return new CremaError("CREMA_CA_INVALID_CSR", reason);
}

/** The single CERTIFICATE REQUEST block of a PEM text, parsed; its signature is not checked. */
export function parseCsrPem(csrPem: string): ParsedCsr {
  if (typeof csrPem !== "string" || csrPem.trim() === "") throw invalidCsr("the CSR is empty");
  if (Buffer.byteLength(csrPem) > MAX_CSR_BYTES) {
    throw invalidCsr(`the CSR is larger than ${MAX_CSR_BYTES} bytes`);
  }
  const blocks = decodePemBlocks(csrPem).filter((b) => b.label === "CERTIFICATE REQUEST");
  if (blocks.length !== 1) {
    throw invalidCsr(
      blocks.length === 0
        ? "the CSR is not a PEM 'CERTIFICATE REQUEST' block"
        : "the CSR holds more than one 'CERTIFICATE REQUEST' block",
    );
  }
  const der = new Uint8Array(blocks[0]!.der);
  let request: CertificationRequest;
  try {
    request = AsnConvert.parse(der, CertificationRequest);
  } catch (error) {
    throw invalidCsr(`the CSR is not a PKCS#10 request (${(error as Error).message})`);
  }
  const spki = AsnConvert.serialize(request.certificationRequestInfo.subjectPKInfo);
  return { der, request, spki };
}

/**
 * The URIs in a CSR's subjectAltName request: the first such extension of the first
 * extensionRequest attribute, as @peculiar/x509 looked it up. A request whose extension list or
 * subjectAltName does not decode is refused as a CSR error (with @peculiar/x509 it escaped as an
 * unhandled exception); other extensions are not read.
 */
export function requestedSanUris(request: CertificationRequest): string[] {
  const attribute = request.certificationRequestInfo.attributes.find(
    (a) => a.type === EXTENSION_REQUEST,
  );
  const value = attribute?.values[0];
  if (value === undefined) return [];
  try {
    const extension = AsnConvert.parse(value, Extensions).find(
      (e) => e.extnID === id_ce_subjectAltName,
    );
    if (!extension) return [];
    return AsnConvert.parse(extension.extnValue, SubjectAlternativeName)
      .map((name) => name.uniformResourceIdentifier)
      .filter((uri): uri is string => uri !== undefined);
  } catch (error) {
    throw invalidCsr(`the CSR is not a PKCS#10 request (${(error as Error).message})`);
  }
}
