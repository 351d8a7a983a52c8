// `proxy-config secret`: one row per SDS secret in the config dump as istioctl prints it —
// name, whether it holds a certificate chain or a CA, ACTIVE/WARMING, and the first
// certificate's validity, serial number and dates.
import { X509Certificate } from "node:crypto";
import type { JsonObject } from "../../xds/proto-json.ts";
import { formatTable } from "../table.ts";
import { objectAt, objectsAt, stringAt } from "./config-dump.ts";

export interface SecretRow {
  name: string;
  /** "Cert Chain", "CA", or "" when the secret holds no certificate crema can read. */
  type: string;
  status: string;
  validCert: boolean;
  serialNumber: string;
  notAfter: string;
  notBefore: string;
}

export const SECRET_COLUMNS = [
  "RESOURCE NAME",
  "TYPE",
  "STATUS",
  "VALID CERT",
  "SERIAL NUMBER",
  "NOT AFTER",
  "NOT BEFORE",
] as const;

/** What istioctl prints when the proxy holds no dynamic secret. */
export const NO_SECRETS = "No active or warming secrets found.\n";

/** The PEM text of a DataSource given inline (file and env sources are not readable here). */
function inlinePem(source: JsonObject | undefined): string {
  const bytes = stringAt(source, "inline_bytes");
  if (bytes !== "") return Buffer.from(bytes, "base64").toString("utf8");
  return stringAt(source, "inline_string");
}

function certificateData(secret: JsonObject | undefined): string {
  const chain = inlinePem(objectAt(objectAt(secret, "tls_certificate"), "certificate_chain"));
  if (chain !== "") return chain;
  return inlinePem(objectAt(objectAt(secret, "validation_context"), "trusted_ca"));
}

/** RFC 3339 in UTC without fractions, as Go's time.RFC3339 writes it. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function describeCertificate(pem: string, now: Date): Omit<SecretRow, "name" | "status"> {
  const none = { type: "", validCert: false, serialNumber: "", notAfter: "", notBefore: "" };
  if (pem === "") return none;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return none;
  }
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  return {
    type: cert.ca ? "CA" : "Cert Chain",
    validCert: now > notBefore && now < notAfter,
    // Go prints the serial's big integer in lowercase hex, without leading zeros.
    serialNumber: cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, ""),
    notAfter: rfc3339(notAfter),
    notBefore: rfc3339(notBefore),
  };
}

function secretRow(entry: JsonObject, status: string, now: Date): SecretRow {
  const secret = objectAt(entry, "secret");
  const uninitialized = status === "ACTIVE" && stringAt(entry, "version_info") === "uninitialized";
  return {
    name: stringAt(entry, "name"),
    status: uninitialized ? "UNINITIALIZED" : status,
    ...describeCertificate(certificateData(secret), now),
  };
}

/** Rows for the dump's SecretsConfigDump: warming secrets first, then active ones. */
export function buildSecretRows(secrets: JsonObject, now = new Date()): SecretRow[] {
  return [
    ...objectsAt(secrets, "dynamic_warming_secrets").map((s) => secretRow(s, "WARMING", now)),
    ...objectsAt(secrets, "dynamic_active_secrets").map((s) => secretRow(s, "ACTIVE", now)),
  ];
}

export function renderSecretsTable(rows: readonly SecretRow[]): string {
  if (rows.length === 0) return NO_SECRETS;
  return formatTable(
    SECRET_COLUMNS,
    rows.map((r) => [
      r.name,
      r.type,
      r.status,
      String(r.validCert),
      r.serialNumber,
      r.notAfter,
      r.notBefore,
    ]),
  );
}
