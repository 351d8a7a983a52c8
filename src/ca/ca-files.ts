// Reading and writing the CA's PEM files. Names follow Istio's `istio-ca-secret` and `cacerts`
// Secret keys, so a directory of them looks like the Secret mounted into istiod.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CremaError } from "../base/errors.ts";

/** The signing (self-signed: root) certificate. */
export const CA_CERT_FILE = "ca-cert.pem";
/** The signing certificate's private key. */
export const CA_KEY_FILE = "ca-key.pem";
/** The trusted roots (self-signed: the root, plus the previous one while a rotation overlaps). */
export const ROOT_CERT_FILE = "root-cert.pem";
/** Plugged-in CA only: the intermediates from ca-cert.pem up to the root. */
export const CERT_CHAIN_FILE = "cert-chain.pem";

/** A file's text, or undefined when it does not exist; other failures name the file. */
export async function readOptionalFile(dir: string, name: string): Promise<string | undefined> {
  const path = join(dir, name);
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CremaError(
      "CREMA_CA_INVALID_FILE",
      `${path} cannot be read: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

export async function readRequiredFile(dir: string, name: string, why: string): Promise<string> {
  const text = await readOptionalFile(dir, name);
  if (text === undefined) {
    throw new CremaError("CREMA_CA_INVALID_FILE", `${join(dir, name)} is missing (${why})`);
  }
  return text;
}

/**
 * Replaces a file in one step (write beside it, then rename), so a reader never sees half of it.
 * Private keys get mode 0600.
 */
export async function writeFileAtomically(
  dir: string,
  name: string,
  text: string,
  options: { secret?: boolean } = {},
): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: options.secret ? 0o600 : 0o644 });
  await rename(temporary, path);
}
