import { describe, expect, it } from "vitest";
import { createSelfSignedCa } from "../../ca/root-ca.ts";
import { DEFAULT_WORKLOAD_CERT_TTL_MS } from "../../ca/sign-csr.ts";
import {
  DEFAULT_CA_ROOT_CERT_FILE,
  DEFAULT_SECRET_TTL_MS,
  DEFAULT_TOKEN_FILE,
  parseKeyAlgorithm,
  parseWorkloadCertificateConfig,
  type WorkloadCertificateInput,
} from "./workload-certificate-config.ts";

const root = (await createSelfSignedCa()).signingCertPem;

/** A file system holding pilot-agent's default root and token files, plus `files`. */
function input(
  overrides: Partial<WorkloadCertificateInput> = {},
  files: Record<string, string> = {},
): WorkloadCertificateInput {
  const all: Record<string, string> = {
    [DEFAULT_CA_ROOT_CERT_FILE]: root,
    [DEFAULT_TOKEN_FILE]: "token\n",
    ...files,
  };
  return {
    caAddress: "127.0.0.1:15012",
    namespace: "coffee",
    serviceAccount: "barista",
    env: {},
    readTextFile: (path) => all[path],
    ...overrides,
  };
}

describe("parseWorkloadCertificateConfig", () => {
  it("has pilot-agent's defaults: its files, cluster.local, 24 h renewed at half ±1 %", () => {
    expect(parseWorkloadCertificateConfig(input())).toEqual({
      caAddress: "127.0.0.1:15012",
      caRootCertFile: DEFAULT_CA_ROOT_CERT_FILE,
      caRootsPem: root,
      token: { file: DEFAULT_TOKEN_FILE },
      identity: { trustDomain: "cluster.local", namespace: "coffee", serviceAccount: "barista" },
      keyAlgorithm: "ecdsa-p256",
      ttlMs: 24 * 3600_000,
      gracePeriodRatio: 0.5,
      gracePeriodRatioJitter: 0.01,
    });
  });

  it("reads pilot-agent's variables", () => {
    const config = parseWorkloadCertificateConfig(
      input(
        {
          env: {
            CA_ROOT_CA: "/etc/mesh/root.pem",
            ISTIOD_SAN: "istiod.mesh.example",
            TRUST_DOMAIN: "coffee.example",
            ECC_SIGNATURE_ALGORITHM: "RSA",
            SECRET_TTL: "12h0m0s",
            SECRET_GRACE_PERIOD_RATIO: "0.3",
            SECRET_GRACE_PERIOD_RATIO_JITTER: "0",
            CREMA_BOOTSTRAP_TOKEN: "abc",
          },
          metadataTrustDomain: "ignored.example",
        },
        { "/etc/mesh/root.pem": `${root}${root}` },
      ),
    );
    expect(config).toMatchObject({
      caServerName: "istiod.mesh.example",
      caRootCertFile: "/etc/mesh/root.pem",
      caRootsPem: `${root}${root}`,
      token: { value: "abc" },
      identity: { trustDomain: "coffee.example" },
      keyAlgorithm: "rsa-2048",
      ttlMs: 12 * 3600_000,
      gracePeriodRatio: 0.3,
      gracePeriodRatioJitter: 0,
    });
  });

  it("lets flags win over variables, and takes the trust domain from metadata", () => {
    const config = parseWorkloadCertificateConfig(
      input(
        {
          caRootCert: "/root.pem",
          tokenFile: "/token",
          metadataTrustDomain: "meta.example",
          env: { CA_ROOT_CA: "/elsewhere.pem", CREMA_BOOTSTRAP_TOKEN: "abc" },
        },
        { "/root.pem": root, "/token": "t" },
      ),
    );
    expect(config).toMatchObject({
      caRootCertFile: "/root.pem",
      token: { file: "/token" },
      identity: { trustDomain: "meta.example" },
    });
  });

  it("trusts the system's roots with SYSTEM", () => {
    const config = parseWorkloadCertificateConfig(input({ caRootCert: "SYSTEM" }));
    expect(config).not.toHaveProperty("caRootCertFile");
    expect(config).not.toHaveProperty("caRootsPem");
  });

  it.each([
    [{ caRootCert: "/missing.pem" }, "the CA's root certificate /missing.pem cannot be read"],
    [{ caRootCert: "/token" }, "the CA's root certificate /token contains no PEM CERTIFICATE"],
    [{ tokenFile: "/missing" }, "--token-file /missing cannot be read or is empty"],
    [{ env: { TRUST_DOMAIN: "Coffee Shop" } }, "trust domain 'Coffee Shop' must be lower-case"],
    [{ env: { SECRET_TTL: "24" } }, "SECRET_TTL must be a duration"],
    [{ env: { SECRET_TTL: "0s" } }, "SECRET_TTL must be a duration of 1s or more"],
    [
      { env: { SECRET_GRACE_PERIOD_RATIO: "1.5" } },
      "SECRET_GRACE_PERIOD_RATIO must be a number from 0 to 1",
    ],
    [
      { env: { SECRET_GRACE_PERIOD_RATIO_JITTER: "x" } },
      "SECRET_GRACE_PERIOD_RATIO_JITTER must be",
    ],
  ])("refuses %j", (overrides, message) => {
    expect(() =>
      parseWorkloadCertificateConfig(
        input(overrides as Partial<WorkloadCertificateInput>, { "/token": "t" }),
      ),
    ).toThrow(
      expect.objectContaining({
        code: "CREMA_PROXY_INVALID_FLAG",
        message: expect.stringContaining(message),
      }),
    );
  });

  it("needs a token", () => {
    const files: Record<string, string> = { [DEFAULT_CA_ROOT_CERT_FILE]: root };
    expect(() =>
      parseWorkloadCertificateConfig({ ...input(), readTextFile: (path) => files[path] }),
    ).toThrow(
      `the CA needs a token: give --token-file FILE or CREMA_BOOTSTRAP_TOKEN (${DEFAULT_TOKEN_FILE} cannot be read)`,
    );
  });
});

describe("parseKeyAlgorithm", () => {
  it("is ECDSA P-256 unless RSA is asked for", () => {
    expect(parseKeyAlgorithm({})).toBe("ecdsa-p256");
    expect(parseKeyAlgorithm({ ECC_SIGNATURE_ALGORITHM: "ECDSA", ECC_CURVE: "P256" })).toBe(
      "ecdsa-p256",
    );
    expect(
      parseKeyAlgorithm({ ECC_SIGNATURE_ALGORITHM: "rsa", WORKLOAD_RSA_KEY_SIZE: "2048" }),
    ).toBe("rsa-2048");
  });

  it("refuses what crema cannot make", () => {
    expect(() => parseKeyAlgorithm({ ECC_SIGNATURE_ALGORITHM: "ED25519" })).toThrow(
      "must be ECDSA or RSA",
    );
    expect(() => parseKeyAlgorithm({ ECC_CURVE: "P384" })).toThrow("ECC_CURVE must be P256");
    expect(() =>
      parseKeyAlgorithm({ ECC_SIGNATURE_ALGORITHM: "RSA", WORKLOAD_RSA_KEY_SIZE: "4096" }),
    ).toThrow("WORKLOAD_RSA_KEY_SIZE must be 2048");
  });
});

it("asks for the lifetime the CA gives by default", () => {
  expect(DEFAULT_SECRET_TTL_MS).toBe(DEFAULT_WORKLOAD_CERT_TTL_MS);
});
