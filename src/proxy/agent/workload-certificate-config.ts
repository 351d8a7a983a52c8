// What the agent needs to get workload certificates, from `crema proxy`'s flags and pilot-agent's
// environment: the CA (CA_ADDR, CA_ROOT_CA, ISTIOD_SAN), the token it authenticates with, the
// identity (TRUST_DOMAIN, namespace, service account), and the key and lifetime to ask for
// (ECC_SIGNATURE_ALGORITHM, SECRET_TTL, SECRET_GRACE_PERIOD_RATIO[_JITTER]). Checked at start-up,
// as pilot-agent checks them: a bad value stops the proxy with CREMA_PROXY_INVALID_FLAG.
import { readFileSync } from "node:fs";
import { parseDuration } from "../../base/duration.ts";
import { CremaError } from "../../base/errors.ts";
import type { KeyAlgorithm } from "../../ca/crypto-keys.ts";
import { parseCertificates } from "../../ca/pem.ts";
import {
  DEFAULT_TRUST_DOMAIN,
  invalidIdentityReason,
  type SpiffeIdentity,
} from "../../ca/spiffe.ts";
import {
  DEFAULT_GRACE_PERIOD_RATIO,
  DEFAULT_GRACE_PERIOD_RATIO_JITTER,
} from "./renewal-schedule.ts";

/** pilot-agent's SECRET_TTL default, Istio's workload certificate lifetime (the CA's default too;
 * declared here so that the agent does not load the CA's signing code). */
export const DEFAULT_SECRET_TTL_MS = 24 * 3600 * 1000;

type Env = Readonly<Record<string, string | undefined>>;

/** Where pilot-agent reads the root that signs the CA's certificate (istio-ca-root-cert). */
export const DEFAULT_CA_ROOT_CERT_FILE = "/var/run/secrets/istio/root-cert.pem";
/** Where pilot-agent reads its projected service account token. */
export const DEFAULT_TOKEN_FILE = "/var/run/secrets/tokens/istio-token";
/** pilot-agent's CA_ROOT_CA value for "trust the system's roots". */
export const SYSTEM_ROOTS = "SYSTEM";
/** The bootstrap token itself (crema's; Kubernetes pods use the token file). */
export const BOOTSTRAP_TOKEN_ENV = "CREMA_BOOTSTRAP_TOKEN";

export interface WorkloadCertificateInput {
  /** The CA's HOST:PORT, already checked (--ca-address or CA_ADDR). */
  caAddress: string;
  /** --ca-root-cert (over CA_ROOT_CA). */
  caRootCert?: string;
  /** --token-file (over CREMA_BOOTSTRAP_TOKEN and the default file). */
  tokenFile?: string;
  namespace: string;
  serviceAccount: string;
  /** The node metadata's TRUST_DOMAIN (`--meta TRUST_DOMAIN=…`), under the TRUST_DOMAIN variable. */
  metadataTrustDomain?: string;
  env: Env;
  /** Reads a file's text, or undefined if there is none; default node:fs. */
  readTextFile?: (path: string) => string | undefined;
}

export interface WorkloadCertificateConfig {
  caAddress: string;
  /** ISTIOD_SAN: the name the CA's certificate must carry, when set. */
  caServerName?: string;
  /** The file of roots the CA's certificate chains to; undefined trusts the system's roots. */
  caRootCertFile?: string;
  /** Its text at start-up: `ROOTCA` until the first certificate arrives. */
  caRootsPem?: string;
  /** The token itself, or the file to read it from before each request. */
  token: { value: string } | { file: string };
  identity: SpiffeIdentity;
  keyAlgorithm: KeyAlgorithm;
  ttlMs: number;
  gracePeriodRatio: number;
  gracePeriodRatioJitter: number;
}

function invalid(message: string): CremaError {
  return new CremaError("CREMA_PROXY_INVALID_FLAG", message);
}

function readTextFileOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function set(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** ECC_SIGNATURE_ALGORITHM (ECDSA, the default here, or RSA) with ECC_CURVE / WORKLOAD_RSA_KEY_SIZE. */
export function parseKeyAlgorithm(env: Env): KeyAlgorithm {
  const algorithm = (set(env.ECC_SIGNATURE_ALGORITHM) ?? "ECDSA").toUpperCase();
  if (algorithm === "ECDSA") {
    const curve = set(env.ECC_CURVE) ?? "P256";
    if (curve !== "P256")
      throw invalid(`ECC_CURVE must be P256 (the only curve crema makes), got '${curve}'`);
    return "ecdsa-p256";
  }
  if (algorithm === "RSA") {
    const size = set(env.WORKLOAD_RSA_KEY_SIZE) ?? "2048";
    if (size !== "2048")
      throw invalid(
        `WORKLOAD_RSA_KEY_SIZE must be 2048 (the only size crema makes), got '${size}'`,
      );
    return "rsa-2048";
  }
  throw invalid(
    `ECC_SIGNATURE_ALGORITHM must be ECDSA or RSA, got '${env.ECC_SIGNATURE_ALGORITHM}'`,
  );
}

function parseRatio(env: Env, name: string, fallback: number): number {
  const text = set(env[name]);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw invalid(`${name} must be a number from 0 to 1, got '${text}'`);
  }
  return value;
}

function parseTtl(env: Env): number {
  const text = set(env.SECRET_TTL);
  if (text === undefined) return DEFAULT_SECRET_TTL_MS;
  const parsed = parseDuration(text);
  if (!parsed.ok || !(parsed.ms >= 1000) || !Number.isFinite(parsed.ms)) {
    throw invalid(`SECRET_TTL must be a duration of 1s or more such as '24h', got '${text}'`);
  }
  return parsed.ms;
}

function parseCaRoots(
  input: WorkloadCertificateInput,
  read: (path: string) => string | undefined,
): Pick<WorkloadCertificateConfig, "caRootCertFile" | "caRootsPem"> {
  const given = set(input.caRootCert) ?? set(input.env.CA_ROOT_CA);
  if (given === SYSTEM_ROOTS) return {};
  const file = given ?? DEFAULT_CA_ROOT_CERT_FILE;
  const text = read(file);
  if (text === undefined) {
    throw invalid(
      `the CA's root certificate ${file} cannot be read: give the root that signs the CA's certificate with --ca-root-cert (or CA_ROOT_CA)`,
    );
  }
  const parsed = parseCertificates(text);
  if (!parsed.ok) throw invalid(`the CA's root certificate ${file} ${parsed.reason}`);
  return { caRootCertFile: file, caRootsPem: parsed.pems.join("") };
}

function parseToken(
  input: WorkloadCertificateInput,
  read: (path: string) => string | undefined,
): WorkloadCertificateConfig["token"] {
  const file = set(input.tokenFile);
  const value = set(input.env[BOOTSTRAP_TOKEN_ENV]);
  if (file === undefined && value !== undefined) return { value };
  const path = file ?? DEFAULT_TOKEN_FILE;
  if (set(read(path)) === undefined) {
    throw invalid(
      file !== undefined
        ? `--token-file ${file} cannot be read or is empty`
        : `the CA needs a token: give --token-file FILE or ${BOOTSTRAP_TOKEN_ENV} (${DEFAULT_TOKEN_FILE} cannot be read)`,
    );
  }
  return { file: path };
}

/** The agent's certificate settings; throws CREMA_PROXY_INVALID_FLAG naming the flag or variable. */
export function parseWorkloadCertificateConfig(
  input: WorkloadCertificateInput,
): WorkloadCertificateConfig {
  const env = input.env;
  const read = input.readTextFile ?? readTextFileOrUndefined;
  const identity: SpiffeIdentity = {
    trustDomain: set(env.TRUST_DOMAIN) ?? set(input.metadataTrustDomain) ?? DEFAULT_TRUST_DOMAIN,
    namespace: input.namespace,
    serviceAccount: input.serviceAccount,
  };
  const reason = invalidIdentityReason(identity);
  if (reason) throw invalid(`the workload's SPIFFE identity: ${reason}`);
  const serverName = set(env.ISTIOD_SAN);
  return {
    caAddress: input.caAddress,
    ...(serverName !== undefined ? { caServerName: serverName } : {}),
    ...parseCaRoots(input, read),
    token: parseToken(input, read),
    identity,
    keyAlgorithm: parseKeyAlgorithm(env),
    ttlMs: parseTtl(env),
    gracePeriodRatio: parseRatio(env, "SECRET_GRACE_PERIOD_RATIO", DEFAULT_GRACE_PERIOD_RATIO),
    gracePeriodRatioJitter: parseRatio(
      env,
      "SECRET_GRACE_PERIOD_RATIO_JITTER",
      DEFAULT_GRACE_PERIOD_RATIO_JITTER,
    ),
  };
}
