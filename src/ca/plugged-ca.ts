// A plugged-in CA (Istio's `cacerts`): the operator's intermediate signing certificate and key,
// the chain up to their root, and the root itself. Checked thoroughly on load — key matches
// certificate, certificate is a CA, chain verifies to the root, all valid now — because a bad
// file here would otherwise surface later as every workload failing mTLS.
import { join } from "node:path";
import { type Clock, systemClock } from "../base/clock.ts";
import { buildCaBundle, type CaBundle } from "./ca-bundle.ts";
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CERT_CHAIN_FILE,
  ROOT_CERT_FILE,
  readOptionalFile,
  readRequiredFile,
} from "./ca-files.ts";

/** Istio's rule for choosing the plugged-in CA: the directory has a signing key. */
export async function hasPluggedInCa(dir: string): Promise<boolean> {
  return (await readOptionalFile(dir, CA_KEY_FILE)) !== undefined;
}

/** Loads and verifies `ca-cert.pem`, `ca-key.pem`, `root-cert.pem` and (optional) `cert-chain.pem`. */
export async function loadPluggedInCa(
  dir: string,
  options: { clock?: Clock } = {},
): Promise<CaBundle> {
  const role = "a plugged-in CA needs ca-cert.pem, ca-key.pem and root-cert.pem";
  const certPem = await readRequiredFile(dir, CA_CERT_FILE, role);
  const keyPem = await readRequiredFile(dir, CA_KEY_FILE, role);
  const rootsPem = await readRequiredFile(dir, ROOT_CERT_FILE, role);
  const chainPem = await readOptionalFile(dir, CERT_CHAIN_FILE);
  return buildCaBundle({
    mode: "plugged-in",
    certPem,
    keyPem,
    rootsPem,
    chainPem,
    files: {
      cert: join(dir, CA_CERT_FILE),
      key: join(dir, CA_KEY_FILE),
      chain: join(dir, CERT_CHAIN_FILE),
      roots: join(dir, ROOT_CERT_FILE),
    },
    validAt: (options.clock ?? systemClock()).now(),
  });
}
