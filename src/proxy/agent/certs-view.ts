// Envoy's admin `/certs` (envoy.admin.v3.Certificates) for the SDS secrets a proxy holds: the
// `ROOTCA` roots as `ca_cert` and the `default` chain as `cert_chain`, each certificate with its
// serial, SANs, validity and days left. Pure: the admin server serves what this returns.
import { X509Certificate } from "node:crypto";
import { splitCertificates } from "../../ca/pem.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { ROOT_CA_SECRET, type SecretProvider, WORKLOAD_SECRET } from "../tls/secret-provider.ts";

const DAY_MS = 24 * 3600 * 1000;
/** Envoy's `path` for a certificate that came inline (from SDS), not from a file. */
const INLINE = "<inline>";

/** Envoy's SubjectAlternateName entries from node's `subjectAltName` text. */
function subjectAltNames(certificate: X509Certificate): JsonObject[] {
  const names: JsonObject[] = [];
  for (const entry of (certificate.subjectAltName ?? "").split(/,\s*/)) {
    const colon = entry.indexOf(":");
    const [kind, value] = [entry.slice(0, colon), entry.slice(colon + 1)];
    if (kind === "URI") names.push({ uri: value });
    else if (kind === "DNS") names.push({ dns: value });
    else if (kind === "IP Address") names.push({ ip_address: value });
  }
  return names;
}

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, "Z");
}

/** One envoy.admin.v3.CertificateDetails per certificate in the PEM text. */
function certificateDetails(pem: string | undefined, now: number): JsonObject[] {
  return splitCertificates(pem ?? "").flatMap((text) => {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(text);
    } catch {
      return [];
    }
    const notAfter = certificate.validToDate.getTime();
    return [
      {
        path: INLINE,
        serial_number: certificate.serialNumber.toLowerCase().replace(/^0+(?=.)/, ""),
        subject_alt_names: subjectAltNames(certificate),
        // uint64 in proto3 JSON is a string.
        days_until_expiration: String(Math.max(0, Math.floor((notAfter - now) / DAY_MS))),
        valid_from: timestamp(certificate.validFromDate.getTime()),
        expiration_time: timestamp(notAfter),
      },
    ];
  });
}

/** `/certs`: one entry for the workload's TLS material, none when it has neither secret. */
export function describeCertificates(secrets: SecretProvider, now: number): JsonObject {
  const caCert = certificateDetails(secrets.trustedCa(ROOT_CA_SECRET), now);
  const certChain = certificateDetails(
    secrets.certificate(WORKLOAD_SECRET)?.certificateChainPem,
    now,
  );
  if (caCert.length === 0 && certChain.length === 0) return { certificates: [] };
  return { certificates: [{ ca_cert: caCert, cert_chain: certChain }] };
}
