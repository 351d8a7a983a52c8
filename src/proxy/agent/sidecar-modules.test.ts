// A sidecar's start-up loads none of the CA's certificate-issuing code: the agent only builds one
// CSR, and @peculiar/x509 with reflect-metadata and tsyringe costs about 100 ms of CPU per proxy.
// Checked in a fresh `node`, since vitest's own process has loaded whatever other tests imported.
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";

const ENTRIES = [
  "./workload-certificates.ts",
  "./istio-ca-client.ts",
  "../../cli/commands/proxy.ts",
].map((path) => new URL(path, import.meta.url).href);

const FORBIDDEN = /@peculiar\/x509|tsyringe|reflect-metadata/;

// These packages are CommonJS, so every module of theirs sits in the require cache even when an
// ES module imported it. asn1-csr is what the agent does load, proof the cache shows packages.
const PROBE = `
import { createRequire } from "node:module";
for (const entry of ${JSON.stringify(ENTRIES)}) await import(entry);
const loaded = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({
  forbidden: loaded.filter((path) => ${FORBIDDEN}.test(path)),
  asn1Csr: loaded.some((path) => path.includes("@peculiar/asn1-csr")),
}));
`;

function probe(): Promise<{ forbidden: string[]; asn1Csr: boolean }> {
  const env = { ...process.env, NODE_OPTIONS: "" };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--input-type=module", "-e", PROBE], { env }, (error, out) => {
      if (error) reject(error);
      else resolve(JSON.parse(out.trim().split("\n").at(-1)!));
    });
  });
}

describe("the sidecar's modules", () => {
  it("leave @peculiar/x509, tsyringe and reflect-metadata unloaded", async () => {
    const loaded = await probe();
    expect(loaded.asn1Csr).toBe(true);
    expect(loaded.forbidden).toEqual([]);
  });
});
