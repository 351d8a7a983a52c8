import { describe, expect, it } from "vitest";
import { decodePemBlocks, encodePem, parseCertificates, splitCertificates } from "./pem.ts";
import { makeRoot } from "./test-support.ts";

describe("PEM", () => {
  it("splits a bundle into normalised single certificates", async () => {
    const a = await makeRoot({ subject: "CN=a" });
    const b = await makeRoot({ subject: "CN=b" });
    const messy = `comment\r\n${a.certPem.replaceAll("\n", "\r\n")}\n\n${b.certPem}trailing`;
    expect(splitCertificates(messy)).toEqual([a.certPem, b.certPem]);
    const parsed = parseCertificates(messy);
    expect(parsed.ok && parsed.certificates.map((c) => c.subject)).toEqual(["CN=a", "CN=b"]);
  });

  it("round-trips DER through encodePem with 64-column lines", () => {
    const der = Buffer.alloc(100, 7);
    const pem = encodePem("PRIVATE KEY", der);
    expect(pem.split("\n")[1]).toHaveLength(64);
    expect(decodePemBlocks(pem)).toEqual([{ label: "PRIVATE KEY", der }]);
  });

  it("reports text without certificates, and certificates that do not parse", () => {
    expect(parseCertificates("hello")).toEqual({
      ok: false,
      reason: "contains no PEM CERTIFICATE block",
    });
    const broken = encodePem("CERTIFICATE", Buffer.from("not DER"));
    const parsed = parseCertificates(broken);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toMatch(/^certificate 1 does not parse/);
  });
});
