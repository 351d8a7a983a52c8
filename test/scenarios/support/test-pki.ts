// A throwaway PKI for scenario tests, made with openssl: a CA, and keys with certificates it
// signs for whatever subjectAltName a test needs (DNS names, SPIFFE URIs). P-256 keys, 2 days.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestPki {
  /** The folder holding `ca.crt`, `ca.key` and `<name>.crt`/`<name>.key` per issued name. */
  readonly dir: string;
  /** A key and certificate `<name>.key`/`<name>.crt` signed by the CA, e.g. san `DNS:a.test`. */
  issue(name: string, san: string): void;
  /** A file's PEM text (`ca.crt`, `server.key` …). */
  pem(file: string): string;
  /** Its full path, for config that names files. */
  path(file: string): string;
  remove(): void;
}

export function createTestPki(prefix: string): TestPki {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const openssl = (...args: string[]) =>
    execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-subj",
    "/CN=test-ca",
    "-days",
    "2",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
  );
  return {
    dir,
    issue(name, san) {
      openssl(
        "req",
        ...ec,
        "-subj",
        `/CN=${name}`,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
      );
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
      openssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        `${name}.ext`,
        "-out",
        `${name}.crt`,
      );
    },
    pem: (file) => readFileSync(join(dir, file), "utf8"),
    path: (file) => join(dir, file),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
