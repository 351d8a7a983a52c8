// What a TLS peer's certificate says and whether it is acceptable, as Envoy's default certificate
// validator decides: the chain against the trusted CA (unless ACCEPT_UNTRUSTED; expiry forgiven
// with allow_expired_certificate) and the SAN matchers (any one must match). Also the identity
// the proxy records for RBAC and XFCC: URI/DNS SANs and the RFC 2253 subject.
import type { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { withTemporaryRe2 } from "../routing/re2-pool.ts";
import { stringMatch } from "../routing/string-matcher.ts";
import type { SanMatcher, ValidationConfig } from "./tls-context.ts";

export interface SubjectAltNames {
  uri: string[];
  dns: string[];
  email: string[];
  ip: string[];
}

const SAN_KIND: Record<string, keyof SubjectAltNames> = {
  URI: "uri",
  DNS: "dns",
  email: "email",
  "IP Address": "ip",
};

/**
 * node's `subjectAltName` text (`URI:spiffe://…, DNS:a.example, IP Address:10.0.0.1`): entries
 * joined by ", ", a value JSON-quoted when it holds characters that would make that ambiguous.
 */
export function parseSubjectAltNames(text: string | undefined): SubjectAltNames {
  const out: SubjectAltNames = { uri: [], dns: [], email: [], ip: [] };
  if (!text) return out;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(":", i);
    if (colon < 0) break;
    const kind = SAN_KIND[text.slice(i, colon)];
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      // A JSON string: find its closing quote (skipping escaped ones).
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      end = j + 1;
      try {
        value = JSON.parse(text.slice(colon + 1, end)) as string;
      } catch {
        value = text.slice(colon + 2, j);
      }
    } else {
      const next = text.indexOf(", ", colon + 1);
      end = next < 0 ? text.length : next;
      value = text.slice(colon + 1, end);
    }
    if (kind) out[kind].push(value);
    i = text.indexOf(", ", end);
    if (i < 0) break;
    i += 2;
  }
  return out;
}

/** The subject as Envoy prints it (RFC 2253: most specific first, comma-separated); "" if empty. */
export function rfc2253Subject(certificate: X509Certificate): string {
  const subject = certificate.subject;
  if (!subject) return "";
  return subject.split("\n").reverse().join(",");
}

/** A DNS SAN of the certificate matches `name` (a `*.` wildcard covers exactly one label). */
function dnsNameMatches(san: string, name: string): boolean {
  const a = san.toLowerCase();
  const b = name.toLowerCase();
  if (a === b) return true;
  if (!a.startsWith("*.")) return false;
  const dot = b.indexOf(".");
  return dot > 0 && b.slice(dot) === a.slice(1);
}

function matchValue(matcher: SanMatcher, value: string): boolean {
  if (matcher.kind === "regex") {
    // Checked when decoded; compiled only for the handshake that needs it (never on requests).
    const result = withTemporaryRe2(`^(?:${matcher.value})$`, "u", (re) => re.test(value));
    return result.ok && result.value;
  }
  return stringMatch(matcher.kind, matcher.value, matcher.ignoreCase).match(value);
}

/** Whether one matcher accepts the certificate's SANs of its type. */
export function sanMatcherAccepts(matcher: SanMatcher, sans: SubjectAltNames): boolean {
  const t = matcher.sanType;
  if ((t === "URI" || t === "ANY") && sans.uri.some((v) => matchValue(matcher, v))) return true;
  if (t === "DNS" || t === "ANY") {
    for (const dns of sans.dns) {
      if (matchValue(matcher, dns)) return true;
      // Envoy matches an exact name against a wildcard SAN as a DNS name.
      if (matcher.kind === "exact" && dnsNameMatches(dns, matcher.value)) return true;
    }
  }
  if ((t === "EMAIL" || t === "ANY") && sans.email.some((v) => matchValue(matcher, v))) return true;
  if ((t === "IP_ADDRESS" || t === "ANY") && sans.ip.some((v) => matchValue(matcher, v)))
    return true;
  return false;
}

/**
 * Why the peer is not acceptable (Envoy's failed verification), or undefined when it is.
 * `certificate`: the peer's, when the caller has it already (a client socket hands it out once).
 */
export function peerVerificationError(
  socket: TLSSocket,
  validation: ValidationConfig | undefined,
  options: { requireCertificate: boolean },
  certificate: X509Certificate | undefined = socket.getPeerX509Certificate(),
): string | undefined {
  if (!certificate) {
    return options.requireCertificate ? "peer did not present a certificate" : undefined;
  }
  if (!validation) return undefined;
  const trusted = validation.trustedCa !== undefined || validation.trustedCaSecret !== undefined;
  if (trusted && !validation.acceptUntrusted && !socket.authorized) {
    const reason = String(socket.authorizationError ?? "certificate not trusted");
    if (!(validation.allowExpiredCertificate && reason === "CERT_HAS_EXPIRED")) return reason;
  }
  if (validation.sanMatchers.length > 0) {
    const sans = parseSubjectAltNames(certificate.subjectAltName);
    if (!validation.sanMatchers.some((m) => sanMatcherAccepts(m, sans)))
      return "peer certificate SAN does not match";
  }
  return undefined;
}
