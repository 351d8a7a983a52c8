// Where tokens are found, as Envoy's jwt_authn ExtractorImpl looks: header locations (sorted by
// name+prefix), then query parameters, then cookies; each location remembers which issuers named
// it, so a token found where no provider of its issuer looks is "Jwt issuer is not configured".
// Without any configured location a provider reads `Authorization: Bearer` and `?access_token=`.
import type { MutableHeaders } from "../routing/types.ts";
import type { JwtProviderConfig } from "./jwt-authn-config.ts";

export type TokenSource =
  | { kind: "header"; name: string }
  | { kind: "param"; name: string }
  | { kind: "cookie"; name: string };

export interface ExtractedToken {
  token: string;
  source: TokenSource;
  /** Issuers whose providers named this location; undefined allows any issuer. */
  issuers: ReadonlySet<string> | undefined;
}

interface Location {
  issuers: Set<string>;
  allowAll: boolean;
}

const BEARER_PREFIX = "Bearer ";
const ACCESS_TOKEN_PARAM = "access_token";
const JWT_CHARS = /[A-Za-z0-9_.-]/;

function addIssuer(location: Location, issuer: string): void {
  if (issuer === "") location.allowAll = true;
  else location.issuers.add(issuer);
}

function byKey<T>(map: Map<string, T>): [string, T][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The header values of `name` (lowercase) as a list. */
export function headerValues(headers: Readonly<MutableHeaders>, name: string): string[] {
  const value = headers[name];
  if (value === undefined) return [];
  return typeof value === "string" ? [value] : [...value];
}

/**
 * Envoy's extractJWT: from `after`, skip characters that cannot start a JWT and take the rest; a
 * value with no JWT character at all is returned whole.
 */
function afterPrefix(value: string, after: number): string {
  for (let i = after; i < value.length; i++) {
    if (JWT_CHARS.test(value[i]!)) return value.slice(i);
  }
  return value;
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/** The first value of every query parameter (percent-decoded), as Envoy's getFirstValue reads. */
export function queryParams(path: string): Map<string, string> {
  const params = new Map<string, string>();
  const q = path.indexOf("?");
  if (q < 0) return params;
  const hash = path.indexOf("#", q);
  const query = path.slice(q + 1, hash < 0 ? undefined : hash);
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    if (!params.has(key)) params.set(key, eq < 0 ? "" : decodeComponent(pair.slice(eq + 1)));
  }
  return params;
}

/** Envoy's parseCookies: `name=value` pairs across cookie headers, quotes stripped, first wins. */
export function cookies(headers: Readonly<MutableHeaders>): Map<string, string> {
  const out = new Map<string, string>();
  for (const header of headerValues(headers, "cookie")) {
    for (const part of header.split(";")) {
      const pair = part.trimStart();
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const key = pair.slice(0, eq);
      let value = pair.slice(eq + 1);
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
        value = value.slice(1, -1);
      if (!out.has(key)) out.set(key, value);
    }
  }
  return out;
}

/** The path without the query parameter `name` (forward: false strips a token from the query). */
export function removeQueryParam(path: string, name: string): string {
  const q = path.indexOf("?");
  if (q < 0) return path;
  const hash = path.indexOf("#", q);
  const end = hash < 0 ? path.length : hash;
  const kept = path
    .slice(q + 1, end)
    .split("&")
    .filter((pair) => {
      if (pair === "") return false;
      const eq = pair.indexOf("=");
      return decodeComponent(eq < 0 ? pair : pair.slice(0, eq)) !== name;
    });
  return `${path.slice(0, q)}${kept.length ? `?${kept.join("&")}` : ""}${path.slice(end)}`;
}

/** An extractor for one provider, or for several (allow_missing requirements read them all). */
export class TokenExtractor {
  private readonly headers = new Map<string, Location & { name: string; prefix: string }>();
  private readonly params = new Map<string, Location>();
  private readonly cookieNames = new Map<string, Location>();
  /** Headers the providers write (payload, claims): removed before extraction, never trusted. */
  readonly headersToSanitize: string[] = [];

  constructor(providers: readonly JwtProviderConfig[]) {
    for (const provider of providers) this.addProvider(provider);
  }

  private addProvider(p: JwtProviderConfig): void {
    for (const h of p.fromHeaders) {
      const key = h.name + h.valuePrefix;
      let location = this.headers.get(key);
      if (!location) {
        location = { name: h.name, prefix: h.valuePrefix, issuers: new Set(), allowAll: false };
        this.headers.set(key, location);
      }
      addIssuer(location, p.issuer);
    }
    const addNamed = (map: Map<string, Location>, name: string) => {
      let location = map.get(name);
      if (!location) {
        location = { issuers: new Set(), allowAll: false };
        map.set(name, location);
      }
      addIssuer(location, p.issuer);
    };
    for (const name of p.fromParams) addNamed(this.params, name);
    for (const name of p.fromCookies) addNamed(this.cookieNames, name);
    if (!p.fromHeaders.length && !p.fromParams.length && !p.fromCookies.length) {
      const key = `authorization${BEARER_PREFIX}`;
      let location = this.headers.get(key);
      if (!location) {
        location = {
          name: "authorization",
          prefix: BEARER_PREFIX,
          issuers: new Set(),
          allowAll: false,
        };
        this.headers.set(key, location);
      }
      addIssuer(location, p.issuer);
      addNamed(this.params, ACCESS_TOKEN_PARAM);
    }
    if (p.forwardPayloadHeader) this.headersToSanitize.push(p.forwardPayloadHeader);
    for (const c of p.claimToHeaders) this.headersToSanitize.push(c.headerName);
  }

  /** Tokens in Envoy's order: headers, then query parameters, then cookies. */
  extract(headers: Readonly<MutableHeaders>, path: string): ExtractedToken[] {
    const tokens: ExtractedToken[] = [];
    const issuersOf = (l: Location) => (l.allowAll ? undefined : l.issuers);
    for (const [, location] of byKey(this.headers)) {
      for (const value of headerValues(headers, location.name)) {
        let token = value;
        if (location.prefix !== "") {
          const at = value.indexOf(location.prefix);
          if (at < 0) continue;
          token = afterPrefix(value, at + location.prefix.length);
        }
        tokens.push({
          token,
          source: { kind: "header", name: location.name },
          issuers: issuersOf(location),
        });
      }
    }
    if (this.params.size > 0) {
      const params = queryParams(path);
      for (const [name, location] of byKey(this.params)) {
        const value = params.get(name);
        if (value !== undefined)
          tokens.push({
            token: value,
            source: { kind: "param", name },
            issuers: issuersOf(location),
          });
      }
    }
    if (this.cookieNames.size > 0) {
      const jar = cookies(headers);
      for (const [name, location] of byKey(this.cookieNames)) {
        const value = jar.get(name);
        if (value !== undefined)
          tokens.push({
            token: value,
            source: { kind: "cookie", name },
            issuers: issuersOf(location),
          });
      }
    }
    return tokens;
  }
}
