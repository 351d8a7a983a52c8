// istiod's SecretGen (SDS over ADS): the credentials a proxy asks for by name — a Gateway's
// credentialName as `kubernetes://<name>` (its key pair) and `kubernetes://<name>-cacert` (the CA
// that verifies clients under MUTUAL) — read from Kubernetes Secrets in the proxy's own namespace.
// A name the proxy may not read, or that names no usable Secret, is left out: the proxy keeps
// waiting for it and its TLS handshakes fail, as with istiod.
import type { Resource } from "../../config/resource.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { SDS_CA_SUFFIX } from "./tls-context.ts";

const KUBERNETES = "kubernetes://";

/** A Secret key's value as base64 (`data` holds base64 already, `stringData` plain text). */
function keyBase64(secret: Resource, ...keys: string[]): string | undefined {
  const data = secret.body.data;
  const stringData = secret.body.stringData;
  for (const key of keys) {
    if (typeof stringData === "object" && stringData !== null) {
      const plain = (stringData as Record<string, unknown>)[key];
      if (typeof plain === "string" && plain !== "") return Buffer.from(plain).toString("base64");
    }
    if (typeof data === "object" && data !== null) {
      const encoded = (data as Record<string, unknown>)[key];
      if (typeof encoded === "string" && encoded !== "") return encoded.replace(/\s+/g, "");
    }
  }
  return undefined;
}

/** `kubernetes://[namespace/]name` → the Secret's namespace and name, if the proxy may read it. */
function secretRef(
  resourceName: string,
  proxy: ProxyNode,
): { namespace: string; name: string } | undefined {
  if (!resourceName.startsWith(KUBERNETES)) return undefined;
  const ref = resourceName.slice(KUBERNETES.length);
  const slash = ref.indexOf("/");
  const namespace = slash < 0 ? proxy.namespace : ref.slice(0, slash);
  const name = slash < 0 ? ref : ref.slice(slash + 1);
  // istiod serves a proxy the Secrets of its own namespace only.
  if (namespace !== proxy.namespace || name === "") return undefined;
  return { namespace, name };
}

function findSecret(snapshot: MeshSnapshot, namespace: string, name: string): Resource | undefined {
  return snapshot.config.secrets.find((s) => s.namespace === namespace && s.name === name);
}

/** One SDS resource: a certificate and key, or the trusted CA of `<name>-cacert`. */
function secretResource(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  resourceName: string,
): JsonObject | undefined {
  const ref = secretRef(resourceName, proxy);
  if (!ref) return undefined;
  if (ref.name.endsWith(SDS_CA_SUFFIX)) {
    // A Secret of that very name (key `cacert`), else the `ca.crt` of the credential's Secret.
    const own = findSecret(snapshot, ref.namespace, ref.name);
    const base = findSecret(snapshot, ref.namespace, ref.name.slice(0, -SDS_CA_SUFFIX.length));
    const ca =
      (own && keyBase64(own, "cacert", "ca.crt")) ?? (base && keyBase64(base, "ca.crt", "cacert"));
    if (ca === undefined) return undefined;
    return { name: resourceName, validation_context: { trusted_ca: { inline_bytes: ca } } };
  }
  const secret = findSecret(snapshot, ref.namespace, ref.name);
  if (!secret) return undefined;
  const chain = keyBase64(secret, "tls.crt", "cert");
  const key = keyBase64(secret, "tls.key", "key");
  if (chain === undefined || key === undefined) return undefined;
  return {
    name: resourceName,
    tls_certificate: {
      certificate_chain: { inline_bytes: chain },
      private_key: { inline_bytes: key },
    },
  };
}

/** The SDS resources among `names` that the proxy may have, by name. */
export function credentialSecretsFor(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  names: Iterable<string>,
): Map<string, JsonObject> {
  const out = new Map<string, JsonObject>();
  for (const name of names) {
    const resource = secretResource(snapshot, proxy, name);
    if (resource) out.set(name, resource);
  }
  return out;
}
