import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../base/logger.ts";
import type { ResourceUpdate } from "../../xds/client/types.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { layeredSecrets, SdsSecrets, sdsNamesOf } from "./sds-secrets.ts";
import { NO_SECRETS } from "./secret-provider.ts";

const dir = mkdtempSync(join(tmpdir(), "crema-sds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const update = (added: Record<string, JsonObject>, full = true): ResourceUpdate => ({
  added: new Map(Object.entries(added)),
  removed: [],
  full,
  version: "1",
  versions: new Map(),
});

const tlsListener = (certificate: string, ca?: string): JsonObject => ({
  filter_chains: [
    {
      transport_socket: {
        typed_config: {
          common_tls_context: {
            tls_certificate_sds_secret_configs: [{ name: certificate }],
            ...(ca
              ? {
                  combined_validation_context: {
                    validation_context_sds_secret_config: { name: ca },
                  },
                }
              : {}),
          },
        },
      },
    },
  ],
});

function store() {
  const subscriptions: string[][] = [];
  let settled = 0;
  const sds = new SdsSecrets({
    logger: silentLogger(),
    onNames: (names) => subscriptions.push([...names].sort()),
    onSettled: () => settled++,
  });
  return { sds, subscriptions, settledCalls: () => settled };
}

describe("SDS secrets named by the config", () => {
  it("finds every secret name in a resource, but not the agent's default and ROOTCA", () => {
    expect([...sdsNamesOf(tlsListener("kubernetes://a", "kubernetes://a-cacert"))]).toEqual([
      "kubernetes://a",
      "kubernetes://a-cacert",
    ]);
    expect([...sdsNamesOf(tlsListener("default", "ROOTCA"))]).toEqual([]);
  });

  it("subscribes to what listeners name, holds what the server sends, and is settled then", () => {
    const { sds, subscriptions } = store();
    sds.track(
      TYPE_URL.listener,
      update({ https: tlsListener("kubernetes://shop", "kubernetes://shop-cacert") }),
    );
    expect(subscriptions).toEqual([["kubernetes://shop", "kubernetes://shop-cacert"]]);
    expect(sds.settled()).toBe(false);
    const applied = sds.handler().apply(
      update({
        "kubernetes://shop": {
          name: "kubernetes://shop",
          tls_certificate: {
            certificate_chain: { inline_bytes: Buffer.from("CHAIN").toString("base64") },
            private_key: { inline_string: "KEY" },
          },
        },
        "kubernetes://shop-cacert": {
          name: "kubernetes://shop-cacert",
          validation_context: { trusted_ca: { inline_string: "CA" } },
        },
      }),
    );
    expect(applied.errors).toEqual([]);
    expect(sds.settled()).toBe(true);
    expect(sds.certificate("kubernetes://shop")).toEqual({
      certificateChainPem: "CHAIN",
      privateKeyPem: "KEY",
    });
    expect(sds.trustedCa("kubernetes://shop-cacert")).toBe("CA");
    // The listener goes away: the secrets are forgotten and nothing is subscribed.
    sds.track(TYPE_URL.listener, update({}));
    expect(subscriptions.at(-1)).toEqual([]);
    expect(sds.certificate("kubernetes://shop")).toBeUndefined();
    sds.close();
  });

  it("rejects a secret it cannot use, naming the resource and field", () => {
    const { sds } = store();
    const result = sds
      .handler()
      .apply(update({ bad: { name: "bad", tls_certificate: { certificate_chain: {} } } }));
    expect(result.errors).toEqual([
      "bad: tls_certificate.certificate_chain: needs inline_string, inline_bytes or filename",
      "bad: tls_certificate.private_key: needs inline_string, inline_bytes or filename",
    ]);
    expect(
      sds.handler().apply(update({ s: { name: "s", session_ticket_keys: {} } })).errors[0],
    ).toContain("only tls_certificate and validation_context secrets are supported");
  });

  it("reads file-cert: and file-root: names from the files, without asking the server", () => {
    const cert = join(dir, "tls.crt");
    const key = join(dir, "tls.key");
    const ca = join(dir, "ca.crt");
    writeFileSync(cert, "FILE-CHAIN");
    writeFileSync(key, "FILE-KEY");
    writeFileSync(ca, "FILE-CA");
    const { sds, subscriptions } = store();
    let changes = 0;
    layeredSecrets(NO_SECRETS, sds).onChange(() => changes++);
    sds.track(
      TYPE_URL.listener,
      update({ l: tlsListener(`file-cert:${cert}~${key}`, `file-root:${ca}`) }),
    );
    expect(subscriptions).toEqual([]);
    expect(sds.settled()).toBe(true);
    expect(changes).toBe(1);
    expect(sds.certificate(`file-cert:${cert}~${key}`)).toEqual({
      certificateChainPem: "FILE-CHAIN",
      privateKeyPem: "FILE-KEY",
    });
    expect(sds.trustedCa(`file-root:${ca}`)).toBe("FILE-CA");
  });
});
