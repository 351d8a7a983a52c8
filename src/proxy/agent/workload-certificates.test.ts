// The agent's certificates against crema's real CA over TLS on loopback. Time that matters to
// renewal and expiry is a manual clock shared with the CA; nothing here sleeps.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ManualClock, manualClock } from "../../base/clock.ts";
import { silentLogger } from "../../base/logger.ts";
import { generateBootstrapTokenKey, issueBootstrapToken } from "../../ca/bootstrap-token.ts";
import { splitCertificates } from "../../ca/pem.ts";
import { removeTemporaryDirs, temporaryDir } from "../../ca/test-support.ts";
import { istioCaSigner } from "./istio-ca-client.ts";
import { startTestCa, type TestCa } from "./test-ca-server.ts";
import { parseWorkloadCertificateConfig } from "./workload-certificate-config.ts";
import {
  type WorkloadCertificateEvent,
  WorkloadCertificates,
  type WorkloadCertificatesOptions,
  workloadCertificatesFromConfig,
} from "./workload-certificates.ts";

const BARISTA = { namespace: "coffee", serviceAccount: "barista" };
const BARISTA_ID = "spiffe://cluster.local/ns/coffee/sa/barista";

let ca: TestCa;
let token: string;
const providers: WorkloadCertificates[] = [];

beforeAll(async () => {
  ca = await startTestCa();
  token = await ca.token(BARISTA);
});

afterEach(() => {
  for (const provider of providers.splice(0)) provider.close();
  ca.close();
});

afterAll(() => {
  ca.close();
  removeTemporaryDirs();
});

type Kind = WorkloadCertificateEvent["kind"];

/** Records the provider's events; `next(kind)` waits for the next one of that kind. */
function eventLog() {
  const seen: WorkloadCertificateEvent[] = [];
  const waiting: Array<{ kind: Kind; done: (event: WorkloadCertificateEvent) => void }> = [];
  return {
    seen,
    onEvent(event: WorkloadCertificateEvent) {
      seen.push(event);
      for (const wait of waiting.filter((w) => w.kind === event.kind)) {
        waiting.splice(waiting.indexOf(wait), 1);
        wait.done(event);
      }
    },
    next<K extends Kind>(kind: K): Promise<Extract<WorkloadCertificateEvent, { kind: K }>> {
      return new Promise((done) =>
        waiting.push({ kind, done: done as (event: WorkloadCertificateEvent) => void }),
      );
    },
  };
}

interface Setup {
  provider: WorkloadCertificates;
  clock: ManualClock;
  events: ReturnType<typeof eventLog>;
}

function provider(
  address: string,
  overrides: Partial<WorkloadCertificatesOptions> & { token?: () => Promise<string> } = {},
  clock = manualClock(Date.now()),
): Setup {
  const events = eventLog();
  const { token: tokenSource, ...rest } = overrides;
  const created = new WorkloadCertificates({
    identity: { trustDomain: "cluster.local", ...BARISTA },
    signer: istioCaSigner({
      address,
      caRoots: async () => ca.rootPem,
      token: tokenSource ?? (async () => token),
    }),
    initialRootsPem: ca.rootPem,
    clock,
    // No jitter: renewal at exactly half the lifetime, retries at 90 % of the back-off.
    random: () => 0.5,
    logger: silentLogger(),
    onEvent: events.onEvent,
    ...rest,
  });
  providers.push(created);
  return { provider: created, clock, events };
}

/** A loopback port nothing listens on (a CA that is down). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

describe("WorkloadCertificates", () => {
  it("serves the CA's certificate for the workload's SPIFFE ID as `default`, its root as `ROOTCA`", async () => {
    const { provider: certs } = provider(await ca.serve());
    // Before the first answer: no certificate, and the configured root.
    expect(certs.certificate("default")).toBeUndefined();
    expect(certs.trustedCa("ROOTCA")).toBe(ca.rootPem);
    let changes = 0;
    certs.onChange(() => changes++);
    certs.start();
    await certs.ready();
    expect(changes).toBe(1);

    const secret = certs.certificate("default")!;
    const chain = splitCertificates(secret.certificateChainPem);
    expect(chain).toHaveLength(1);
    const leaf = new X509Certificate(chain[0]!);
    const root = new X509Certificate(certs.trustedCa("ROOTCA")!);
    expect(leaf.subjectAltName).toBe(`URI:${BARISTA_ID}`);
    expect(leaf.checkIssued(root) && leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(secret.privateKeyPem))).toBe(true);
    expect(leaf.publicKey.asymmetricKeyType).toBe("ec");
    // SECRET_TTL's default: 24 h.
    const lifetime = leaf.validToDate.getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(24 * 3600_000 - 60_000);
    expect(lifetime).toBeLessThanOrEqual(24 * 3600_000);
    expect(certs.certificate("other")).toBeUndefined();
    expect(certs.trustedCa("other")).toBeUndefined();
    expect(certs.status()).toMatchObject({ identity: BARISTA_ID, failures: 0 });
  });

  it("makes an RSA 2048 key when asked", async () => {
    const { provider: certs } = provider(await ca.serve(), { keyAlgorithm: "rsa-2048" });
    await certs.start().ready();
    const leaf = new X509Certificate(certs.certificate("default")!.certificateChainPem);
    expect(leaf.publicKey.asymmetricKeyType).toBe("rsa");
    expect(leaf.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it("renews at half the lifetime with a new key, and tells its listeners", async () => {
    const clock = manualClock(Date.now());
    const { provider: certs, events } = provider(await ca.serve({ clock }), { ttlMs: 4000 }, clock);
    const first = events.next("issued");
    certs.start();
    const issued = await first;
    const before = certs.certificate("default")!;
    // Certificates count whole seconds, so 4 s asked may be a little less from here.
    const lifetime = issued.certificate.notAfter - clock.now();
    expect(issued.renewAt - clock.now()).toBe(Math.round(lifetime / 2));
    expect(certs.status().nextAttemptAt).toBe(issued.renewAt);

    const changed = new Promise<void>((done) => certs.onChange(done));
    const second = events.next("issued");
    clock.advance(issued.renewAt - clock.now() - 1);
    expect(events.seen).toHaveLength(1);
    clock.advance(1);
    const renewed = await second;
    await changed;
    expect(renewed.certificate.serialNumber).not.toBe(issued.certificate.serialNumber);
    const after = certs.certificate("default")!;
    expect(after).not.toEqual(before);
    expect(after.privateKeyPem).not.toBe(before.privateKeyPem);
    // The replaced certificate's expiry no longer matters.
    clock.advance(issued.certificate.notAfter - clock.now() + 1);
    expect(events.seen.map((e) => e.kind)).toEqual(["issued", "issued"]);
    expect(certs.certificate("default")).toBe(after);
  });

  it("refused for a wrong token: no certificate, not ready, retries with back-off", async () => {
    const foreign = await issueBootstrapToken(await generateBootstrapTokenKey(), BARISTA);
    const {
      provider: certs,
      clock,
      events,
    } = provider(await ca.serve(), {
      token: async () => foreign,
    });
    let ready = false;
    void certs.ready().then(() => {
      ready = true;
    });
    const failed = events.next("failed");
    certs.start();
    const first = await failed;
    expect(first).toMatchObject({ failures: 1, retryAt: clock.now() + 450 });
    expect(first.reason).toBe(
      "UNAUTHENTICATED: request authenticate failure: the token is not signed by this control plane",
    );
    const again = events.next("failed");
    clock.advance(450);
    expect(await again).toMatchObject({ failures: 2, retryAt: clock.now() + 900 });
    expect(certs.certificate("default")).toBeUndefined();
    expect(certs.status()).toMatchObject({ failures: 2, lastError: first.reason });
    expect(ready).toBe(false);
  });

  it("refused when the CSR names another identity than the token's", async () => {
    const { provider: certs, events } = provider(await ca.serve(), {
      identity: { trustDomain: "cluster.local", namespace: "coffee", serviceAccount: "payment" },
    });
    const failed = events.next("failed");
    certs.start();
    expect((await failed).reason).toBe(
      `UNAUTHENTICATED: request authenticate failure: the CSR asks for spiffe://cluster.local/ns/coffee/sa/payment but the caller is ${BARISTA_ID}`,
    );
    expect(certs.certificate("default")).toBeUndefined();
  });

  it("keeps the certificate while renewals fail, drops it at expiry, and recovers", async () => {
    const clock = manualClock(Date.now());
    let refuse = false;
    const { provider: certs, events } = provider(
      await ca.serve({ clock }),
      { ttlMs: 4000, token: async () => (refuse ? "expired" : token) },
      clock,
    );
    const first = events.next("issued");
    certs.start();
    const issued = await first;
    refuse = true;

    const failed = events.next("failed");
    clock.advance(issued.renewAt - clock.now());
    await failed;
    expect(certs.certificate("default")?.certificateChainPem).toBe(
      issued.certificate.certificateChainPem,
    );

    // Up to expiry: a retry starts (and will fail), then the certificate is dropped at notAfter.
    const dropped = new Promise<void>((done) => certs.onChange(done));
    const retried = events.next("failed");
    clock.advance(issued.certificate.notAfter - clock.now());
    expect(certs.certificate("default")).toBeUndefined();
    await dropped;
    expect(events.seen.at(-1)).toEqual({ kind: "expired", notAfter: issued.certificate.notAfter });
    // The roots stay trusted, and the retries go on.
    expect(certs.trustedCa("ROOTCA")).toBe(ca.rootPem);
    await retried;

    refuse = false;
    const recovered = events.next("issued");
    clock.advance(certs.status().nextAttemptAt! - clock.now());
    await recovered;
    expect(certs.certificate("default")).toBeDefined();
    expect(certs.status().failures).toBe(0);
  });

  it("retries while the CA is down and gets its certificate once it is up", async () => {
    const port = await freePort();
    const { provider: certs, clock, events } = provider(`127.0.0.1:${port}`);
    const failed = events.next("failed");
    certs.start();
    expect((await failed).reason).toMatch(/^UNAVAILABLE: /);

    await ca.serve({ port });
    const issued = events.next("issued");
    clock.advance(certs.status().nextAttemptAt! - clock.now());
    await issued;
    await certs.ready();
    expect(certs.certificate("default")).toBeDefined();
  });

  it("reads the root and token files of `crema proxy` again before each request", async () => {
    const dir = temporaryDir("crema-agent-");
    const rootFile = join(dir, "root-cert.pem");
    const tokenFile = join(dir, "istio-token");
    writeFileSync(rootFile, ca.rootPem);
    writeFileSync(tokenFile, `${token}\n`);
    const config = parseWorkloadCertificateConfig({
      caAddress: await ca.serve(),
      caRootCert: rootFile,
      tokenFile,
      ...BARISTA,
      env: { SECRET_TTL: "1h" },
    });
    const clock = manualClock(Date.now());
    const events = eventLog();
    const certs = workloadCertificatesFromConfig(config, {
      logger: silentLogger(),
      clock,
      onEvent: events.onEvent,
    });
    providers.push(certs);
    expect(certs.trustedCa("ROOTCA")).toBe(ca.rootPem);
    await certs.start().ready();
    const leaf = new X509Certificate(certs.certificate("default")!.certificateChainPem);
    expect(leaf.validToDate.getTime() - Date.now()).toBeGreaterThan(3500_000);

    // A token that is not the CA's: the renewal is refused, so the file was read again.
    writeFileSync(tokenFile, "not-a-token");
    const failed = events.next("failed");
    clock.advance(certs.status().nextAttemptAt! - clock.now());
    expect((await failed).reason).toBe(
      "UNAUTHENTICATED: request authenticate failure: the token is malformed",
    );
  });

  it("stops every timer when closed", async () => {
    const { provider: certs, clock } = provider(await ca.serve());
    await certs.start().ready();
    expect(clock.pendingTimers()).toBe(2);
    certs.close();
    expect(clock.pendingTimers()).toBe(0);
    expect(certs.certificate("default")).toBeDefined();
  });
});
