// The HTTP connection manager's request-path normalisation before routing (Envoy's
// ConnectionManagerUtility::maybeNormalizePath): escaped-slash handling, then normalize_path
// (Chromium's URL path canonicalisation, as Envoy's PathUtil::canonicalPath), then merge_slashes.
// Only the part before "?" changes; the query is kept verbatim. Never throws.
import type { PathWithEscapedSlashesAction } from "../listener/types.ts";

export interface PathNormalizationOptions {
  normalizePath: boolean;
  mergeSlashes: boolean;
  pathWithEscapedSlashesAction: PathWithEscapedSlashesAction;
  /** Envoy rejects a path with a "#" fragment by default (http_reject_path_with_fragment). */
  rejectFragment?: boolean;
}

export type PathNormalization =
  | { action: "continue"; path: string }
  /** 400, details path_normalization_failed. */
  | { action: "reject" }
  /** 307 with `location: path` (UNESCAPE_AND_REDIRECT found %2F or %5C). */
  | { action: "redirect"; path: string };

export function normalizeRequestPath(
  path: string,
  options: PathNormalizationOptions,
): PathNormalization {
  if (path === "") return { action: "continue", path };
  const hash = path.indexOf("#");
  if (hash >= 0) {
    if (options.rejectFragment ?? true) return { action: "reject" };
    path = path.slice(0, hash);
  }
  let redirect = false;
  const escaped = options.pathWithEscapedSlashesAction;
  // Envoy's IMPLEMENTATION_SPECIFIC_DEFAULT is KEEP_UNCHANGED.
  if (escaped !== "KEEP_UNCHANGED" && escaped !== "IMPLEMENTATION_SPECIFIC_DEFAULT") {
    const unescaped = unescapeSlashes(path);
    if (unescaped !== path) {
      if (escaped === "REJECT_REQUEST") return { action: "reject" };
      redirect = escaped === "UNESCAPE_AND_REDIRECT";
      path = unescaped;
    }
  }
  if (options.normalizePath) {
    const canonical = canonicalPath(path);
    if (canonical === undefined) return { action: "reject" };
    path = canonical;
  }
  if (options.mergeSlashes) path = mergeSlashes(path);
  return redirect ? { action: "redirect", path } : { action: "continue", path };
}

function splitQuery(path: string): [string, string] {
  const q = path.indexOf("?");
  return q < 0 ? [path, ""] : [path.slice(0, q), path.slice(q)];
}

/** PathUtil::unescapeSlashes: %2F/%2f → "/", %5C/%5c → "\" in the path part only. */
export function unescapeSlashes(path: string): string {
  const [p, query] = splitQuery(path);
  return p.replace(/%2f/gi, "/").replace(/%5c/gi, "\\") + query;
}

/** PathUtil::mergeSlashes: collapse runs of "/" in the path part, keeping a leading/trailing one. */
export function mergeSlashes(path: string): string {
  const [p, query] = splitQuery(path);
  if (!p.includes("//")) return path;
  const prefix = p.startsWith("/") ? "/" : "";
  const suffix = p.endsWith("/") ? "/" : "";
  const segments = p.split("/").filter((s) => s !== "");
  return prefix + segments.join("/") + suffix + query;
}

/** PathUtil::stripParametersFromDotSegments: "/..;x=y/" → "/../" (and "." likewise). */
function stripDotSegmentParameters(p: string): string {
  return p.replace(/(^|\/)(\.{1,2});[^/]*/g, "$1$2");
}

// Chromium's kPathCharLookup, collapsed: which ASCII bytes pass, are escaped, or are decoded when
// percent-encoded (unreserved: ALPHA DIGIT - . _ ~). NUL is invalid (the path is rejected).
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const ESCAPED_RAW = new Set([...' "#%<>?^`{|}\x7f'].map((c) => c.charCodeAt(0)));

function hex(byte: number): string {
  return `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
}

/** A "." or "%2e" at `i`: its length, else 0 (Chromium's IsDot). */
function dotLength(p: string, i: number): number {
  if (p[i] === ".") return 1;
  return p.slice(i, i + 3).toLowerCase() === "%2e" ? 3 : 0;
}

/**
 * PathUtil::canonicalPath: strip parameters from dot segments, then canonicalise the path part as
 * Chromium does — resolve "." / ".." (also as %2E), "\" → "/", decode %XX of unreserved
 * characters, keep other escapes as written (hex case preserved), escape unsafe raw bytes.
 * Returns undefined (reject) when the path holds a NUL, raw or encoded.
 */
export function canonicalPath(path: string): string | undefined {
  const [raw, query] = splitQuery(path);
  const p = stripDotSegmentParameters(raw);
  const bytes = new TextEncoder().encode(p);
  // Work on a binary string so each char is one byte.
  const s = String.fromCharCode(...bytes);
  let out = s.startsWith("/") || s.startsWith("\\") ? "" : "/";
  let ok = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const dot = dotLength(s, i);
    if (dot > 0) {
      if (!out.endsWith("/")) {
        out += ".";
        i += dot - 1;
        continue;
      }
      const after = i + dot;
      const [kind, consumed] = classifyAfterDot(s, after);
      if (kind === "file") out += ".";
      else if (kind === "up") out = backUpToPreviousSlash(out);
      i += dot + consumed - 1;
    } else if (c === 0x5c) {
      out += "/";
    } else if (c === 0x25) {
      const code = /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))
        ? Number.parseInt(s.slice(i + 1, i + 3), 16)
        : -1;
      if (code < 0) out += "%";
      else {
        if (code === 0) ok = false;
        out +=
          code < 0x80 && UNRESERVED.test(String.fromCharCode(code))
            ? String.fromCharCode(code)
            : s.slice(i, i + 3);
        i += 2;
      }
    } else if (c === 0) {
      ok = false;
      out += hex(c);
    } else if (c < 0x20 || c >= 0x80 || ESCAPED_RAW.has(c)) {
      out += hex(c);
    } else {
      out += s[i];
    }
  }
  if (out === "") out = "/";
  return ok ? out + query : undefined;
}

function isSlash(s: string, i: number): boolean {
  return s[i] === "/" || s[i] === "\\";
}

/** Chromium's ClassifyAfterDot: [disposition, input consumed after the first dot]. */
function classifyAfterDot(s: string, after: number): ["file" | "current" | "up", number] {
  if (after === s.length) return ["current", 0];
  if (isSlash(s, after)) return ["current", 1];
  const second = dotLength(s, after);
  if (second > 0) {
    const end = after + second;
    if (end === s.length) return ["up", second];
    if (isSlash(s, end)) return ["up", second + 1];
  }
  return ["file", 0];
}

/** Drop the last segment of `out` (which ends in "/"), never above the root. */
function backUpToPreviousSlash(out: string): string {
  if (out.length <= 1) return "/";
  const previous = out.lastIndexOf("/", out.length - 2);
  return out.slice(0, previous + 1);
}
