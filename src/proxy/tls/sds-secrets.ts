// The TLS secrets a proxy's listeners and clusters name beyond the agent's own (`default`,
// `ROOTCA`): a Gateway's credentialName (`kubernetes://…`), fetched from the control plane over
// ADS as istiod serves it (SDS), and certificate files the config names (`file-cert:`,
// `file-root:`), read here as pilot-agent's SDS server reads them.
import { readFileSync } from "node:fs";
import type { Logger } from "../../base/logger.ts";
import type { ApplyResult, ResourceUpdate, TypeHandler } from "../../xds/client/types.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import {
  ROOT_CA_SECRET,
  type SecretProvider,
  type TlsCertificate,
  WORKLOAD_SECRET,
} from "./secret-provider.ts";

const FILE_CERT = "file-cert:";
/** Envoy's default initial_fetch_timeout: how long a listener waits for its secrets to warm. */
const INITIAL_FETCH_TIMEOUT_MS = 15_000;
const FILE_ROOT = "file-root:";

type SecretValue = { kind: "certificate"; value: TlsCertificate } | { kind: "ca"; value: string };

/** Every SDS secret name a resource's TLS contexts reference (walks its proto3 JSON). */
export function sdsNamesOf(json: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(json)) {
    for (const item of json) sdsNamesOf(item, into);
    return into;
  }
  if (typeof json !== "object" || json === null) return into;
  for (const [key, value] of Object.entries(json)) {
    if (key === "tls_certificate_sds_secret_configs" && Array.isArray(value)) {
      for (const config of value) addName(config, into);
    } else if (key === "validation_context_sds_secret_config") {
      addName(value, into);
    } else sdsNamesOf(value, into);
  }
  return into;
}

function addName(config: unknown, into: Set<string>): void {
  const name = (config as { name?: unknown } | null)?.name;
  if (typeof name === "string" && name !== WORKLOAD_SECRET && name !== ROOT_CA_SECRET)
    into.add(name);
}

/** A DataSource's text: inline_string, inline_bytes (base64) or filename. */
function dataSourceText(source: unknown, path: string, errors: string[]): string | undefined {
  const s = source as { inline_string?: unknown; inline_bytes?: unknown; filename?: unknown };
  if (typeof s?.inline_string === "string") return s.inline_string;
  if (typeof s?.inline_bytes === "string") return Buffer.from(s.inline_bytes, "base64").toString();
  if (typeof s?.filename === "string") {
    try {
      return readFileSync(s.filename, "utf8");
    } catch (err) {
      errors.push(`${path}.filename: cannot read ${s.filename}: ${(err as Error).message}`);
      return undefined;
    }
  }
  errors.push(`${path}: needs inline_string, inline_bytes or filename`);
  return undefined;
}

/** A Secret resource (envoy.extensions.transport_sockets.tls.v3.Secret) as the proxy uses it. */
export function decodeSecret(json: JsonObject, errors: string[]): SecretValue | undefined {
  const certificate = json.tls_certificate;
  if (certificate && typeof certificate === "object") {
    const c = certificate as JsonObject;
    const chain = dataSourceText(c.certificate_chain, "tls_certificate.certificate_chain", errors);
    const key = dataSourceText(c.private_key, "tls_certificate.private_key", errors);
    if (chain === undefined || key === undefined) return undefined;
    return { kind: "certificate", value: { certificateChainPem: chain, privateKeyPem: key } };
  }
  const validation = json.validation_context;
  if (validation && typeof validation === "object") {
    const ca = dataSourceText(
      (validation as JsonObject).trusted_ca,
      "validation_context.trusted_ca",
      errors,
    );
    return ca === undefined ? undefined : { kind: "ca", value: ca };
  }
  errors.push(
    "only tls_certificate and validation_context secrets are supported (not session_ticket_keys or generic_secret)",
  );
  return undefined;
}

export class SdsSecrets implements SecretProvider {
  private readonly logger: Logger;
  private readonly secrets = new Map<string, SecretValue>();
  private readonly listeners = new Set<() => void>();
  /** Names referenced per xDS type and resource, so a removed resource drops its names. */
  private readonly referenced = new Map<string, Map<string, Set<string>>>();
  private subscribed = "";
  private readonly onNames: (names: ReadonlySet<string>) => void;
  private readonly onSettled: () => void;
  /** Names subscribed over ADS that have not arrived, and whether their wait is over. */
  private readonly awaited = new Map<string, { timedOut: boolean; timer: NodeJS.Timeout }>();

  /**
   * `onNames`: the names to subscribe to over ADS changed. `onSettled`: every awaited secret
   * arrived or stopped being waited for (readiness may have changed).
   */
  constructor(options: {
    logger: Logger;
    onNames: (names: ReadonlySet<string>) => void;
    onSettled?: () => void;
  }) {
    this.logger = options.logger;
    this.onNames = options.onNames;
    this.onSettled = options.onSettled ?? (() => {});
  }

  /**
   * Whether listeners may count as warm: every secret named over SDS arrived, or waited its
   * initial fetch timeout (Envoy then serves without it, and handshakes needing it fail).
   */
  settled(): boolean {
    for (const wait of this.awaited.values()) if (!wait.timedOut) return false;
    return true;
  }

  close(): void {
    for (const wait of this.awaited.values()) clearTimeout(wait.timer);
    this.awaited.clear();
  }

  certificate(name: string): TlsCertificate | undefined {
    const secret = this.secrets.get(name);
    return secret?.kind === "certificate" ? secret.value : undefined;
  }

  trustedCa(name: string): string | undefined {
    const secret = this.secrets.get(name);
    return secret?.kind === "ca" ? secret.value : undefined;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Names of the certificates and of the CAs held now (a worker thread gets them too). */
  names(): { certificates: string[]; cas: string[] } {
    const certificates: string[] = [];
    const cas: string[] = [];
    for (const [name, secret] of this.secrets)
      (secret.kind === "certificate" ? certificates : cas).push(name);
    return { certificates, cas };
  }

  /** An accepted LDS or CDS update: which secrets its resources name now. */
  track(typeUrl: string, update: ResourceUpdate): void {
    let byResource = this.referenced.get(typeUrl);
    if (!byResource) {
      byResource = new Map();
      this.referenced.set(typeUrl, byResource);
    }
    if (update.full) byResource.clear();
    for (const name of update.removed) byResource.delete(name);
    for (const [name, json] of update.added) {
      const names = sdsNamesOf(json);
      if (names.size) byResource.set(name, names);
      else byResource.delete(name);
    }
    this.refresh();
  }

  /** The SDS handler: Secret resources from the control plane (all-or-nothing per update). */
  handler(): TypeHandler {
    return { apply: (update) => this.apply(update) };
  }

  private apply(update: ResourceUpdate): ApplyResult {
    const errors: string[] = [];
    const decoded = new Map<string, SecretValue>();
    for (const [name, json] of update.added) {
      const own: string[] = [];
      const secret = decodeSecret(json, own);
      if (secret) decoded.set(name, secret);
      errors.push(...own.map((e) => `${name}: ${e}`));
    }
    if (errors.length) return { errors };
    if (update.full)
      for (const name of [...this.secrets.keys()])
        if (!isFileName(name) && !update.added.has(name)) this.secrets.delete(name);
    for (const name of update.removed) this.secrets.delete(name);
    for (const [name, secret] of decoded) {
      this.secrets.set(name, secret);
      this.stopAwaiting(name);
    }
    this.notify();
    this.onSettled();
    return { errors: [] };
  }

  /** Reads newly named files, forgets unnamed secrets, and subscribes to the rest over ADS. */
  private refresh(): void {
    const wanted = new Set<string>();
    for (const byResource of this.referenced.values())
      for (const names of byResource.values()) for (const name of names) wanted.add(name);
    let changed = false;
    for (const name of [...this.secrets.keys()])
      if (!wanted.has(name)) changed = this.secrets.delete(name) || changed;
    const remote = new Set<string>();
    for (const name of wanted) {
      if (!isFileName(name)) {
        remote.add(name);
        continue;
      }
      if (this.secrets.has(name)) continue;
      const secret = this.readFiles(name);
      if (secret) {
        this.secrets.set(name, secret);
        changed = true;
      }
    }
    for (const name of [...this.awaited.keys()]) if (!remote.has(name)) this.stopAwaiting(name);
    for (const name of remote) if (!this.secrets.has(name)) this.await(name);
    const key = [...remote].sort().join("\n");
    if (key !== this.subscribed) {
      this.subscribed = key;
      this.onNames(remote);
    }
    if (changed) this.notify();
  }

  private await(name: string): void {
    if (this.awaited.has(name)) return;
    const timer = setTimeout(() => {
      const wait = this.awaited.get(name);
      if (!wait) return;
      wait.timedOut = true;
      this.logger.warn({ secret: name }, "secret not received within the initial fetch timeout");
      this.onSettled();
    }, INITIAL_FETCH_TIMEOUT_MS);
    timer.unref();
    this.awaited.set(name, { timedOut: false, timer });
  }

  private stopAwaiting(name: string): void {
    const wait = this.awaited.get(name);
    if (!wait) return;
    clearTimeout(wait.timer);
    this.awaited.delete(name);
  }

  private readFiles(name: string): SecretValue | undefined {
    try {
      if (name.startsWith(FILE_ROOT))
        return { kind: "ca", value: readFileSync(name.slice(FILE_ROOT.length), "utf8") };
      const [certificate, key] = name.slice(FILE_CERT.length).split("~");
      return {
        kind: "certificate",
        value: {
          certificateChainPem: readFileSync(certificate ?? "", "utf8"),
          privateKeyPem: readFileSync(key ?? "", "utf8"),
        },
      };
    } catch (err) {
      // As pilot-agent: the secret stays missing and the handshakes that need it fail.
      this.logger.warn({ secret: name, err: (err as Error).message }, "cannot read TLS files");
      return undefined;
    }
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

const isFileName = (name: string) => name.startsWith(FILE_CERT) || name.startsWith(FILE_ROOT);

/** The agent's secrets first (`default`, `ROOTCA`), then those the config names. */
export function layeredSecrets(agent: SecretProvider, named: SecretProvider): SecretProvider {
  return {
    certificate: (name) => agent.certificate(name) ?? named.certificate(name),
    trustedCa: (name) => agent.trustedCa(name) ?? named.trustedCa(name),
    onChange: (listener) => {
      const a = agent.onChange(listener);
      const b = named.onChange(listener);
      return () => {
        a();
        b();
      };
    },
  };
}
