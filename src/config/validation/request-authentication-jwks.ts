// JWT key sources as Istio reads them: jwksUri is an http(s) URL, inline jwks a JSON key (set).
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const KEY_TYPES = new Set(["RSA", "EC", "oct", "OKP"]);

/** Reason a jwksUri is unusable, or undefined. Mirrors Go's URL parsing plus Istio's scheme rule. */
export function jwksUriProblem(uri: string): string | undefined {
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme !== "http" && scheme !== "https") {
    return "it must be an http:// or https:// URL, e.g. https://issuer.example.com/.well-known/jwks.json";
  }
  if ([...uri].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    return "it contains control characters";
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(uri)) {
    return "it has a '%' that does not start a %XX escape; write a literal '%' as %25";
  }
  const rest = uri.slice(scheme.length + 1);
  if (!rest.startsWith("//")) return undefined;
  const authority = rest.slice(2).split(/[/?#]/, 1)[0] ?? "";
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
  if (/\s/.test(hostPort)) return "its host contains spaces";
  let port: string | undefined;
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    if (close < 0) return "its IPv6 host is missing the closing ']'";
    const after = hostPort.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) return "unexpected text after the IPv6 host";
    port = after === "" ? undefined : after.slice(1);
  } else {
    const colon = hostPort.lastIndexOf(":");
    port = colon < 0 ? undefined : hostPort.slice(colon + 1);
  }
  if (port !== undefined && !/^\d*$/.test(port)) {
    return `its port ${JSON.stringify(port)} is not a number`;
  }
  return undefined;
}

function keyProblem(key: unknown, where: string): string | undefined {
  if (typeof key !== "object" || key === null || Array.isArray(key)) {
    return `${where} is not a JSON object`;
  }
  const kty = (key as Record<string, unknown>).kty;
  if (typeof kty !== "string") return `${where} has no "kty" (key type)`;
  if (!KEY_TYPES.has(kty)) {
    return `${where} has key type ${JSON.stringify(kty)}; use RSA, EC, oct or OKP`;
  }
  return undefined;
}

/** Reason an inline JWKS cannot be parsed as a key or key set, or undefined. */
export function jwksProblem(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return `it is not valid JSON (${(error as Error).message})`;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return 'it must be a JSON object: a key set {"keys": [...]} or a single key';
  }
  const keys = (parsed as Record<string, unknown>).keys;
  if (keys === undefined) return keyProblem(parsed, "the key");
  if (!Array.isArray(keys)) return '"keys" must be a list of keys';
  for (const [i, key] of keys.entries()) {
    const problem = keyProblem(key, `keys[${i}]`);
    if (problem) return problem;
  }
  return undefined;
}
