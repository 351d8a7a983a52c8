// Semantic validation of WasmPlugin (Istio webhook + CRD rules): URL, sha256, names, env, match.
import type { FieldPath } from "../diagnostic.ts";
import { checkDryRunAnnotation, checkPolicyScope } from "./authorization-policy-scope.ts";
import type { KindValidator, ValidationContext } from "./context.ts";
import { checkPort, isObj, items, type Obj, present } from "./rules.ts";

const URL_SCHEMES = new Set(["http", "https", "oci", "file"]);
const AUTHORITY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%[\]]*$/;
const SHA256 = /^[a-f0-9]{64}$/;
const ENV_MAX = 256;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function hasControlCharacters(text: string): boolean {
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** The scheme as Go's URL parser sees it: letters first, then letters, digits, '+', '-', '.'. */
function goScheme(url: string): string | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  return match?.[1]?.toLowerCase();
}

/**
 * Reason a plugin URL is unusable, or undefined. Istio accepts oci://, http(s)://, file:// and
 * scheme-less references (read as registry/image, i.e. OCI over http) and absolute paths.
 */
export function wasmUrlProblem(url: string): string | undefined {
  if (url === "") return "it is empty";
  if (hasControlCharacters(url)) return "it contains control characters";
  if (/%(?![0-9A-Fa-f]{2})/.test(url)) return "it has a '%' that does not start a %XX escape";
  if (url.startsWith(":")) return "it starts with ':'; write a scheme before it, e.g. oci://";
  const scheme = goScheme(url);
  if (scheme !== undefined && !URL_SCHEMES.has(scheme)) {
    return `scheme ${JSON.stringify(scheme)} is not supported; use oci://, https://, http:// or file:// (a registry host with a port needs oci://, e.g. oci://localhost:5000/plugin:v1)`;
  }
  let rest = scheme === undefined ? url : url.slice(scheme.length + 1);
  if (scheme === undefined) {
    if (url.startsWith("/")) return undefined;
    rest = `//${url}`;
  }
  if (!rest.startsWith("//")) return undefined;
  const authority = rest.slice(2).split("/", 1)[0] ?? "";
  if (!AUTHORITY_CHARS.test(authority)) {
    return `host ${JSON.stringify(authority)} contains characters not allowed in a host name`;
  }
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
  const colon = hostPort.startsWith("[")
    ? hostPort.indexOf(":", hostPort.indexOf("]"))
    : hostPort.lastIndexOf(":");
  if (colon >= 0 && !/^\d*$/.test(hostPort.slice(colon + 1))) {
    return `port ${JSON.stringify(hostPort.slice(colon + 1))} is not a number`;
  }
  return undefined;
}

export const validateWasmPlugin: KindValidator = (spec, ctx) => {
  checkDryRunAnnotation(ctx);
  checkPolicyScope(ctx, spec);

  if (typeof spec.url === "string") {
    const problem = wasmUrlProblem(spec.url);
    if (problem) {
      ctx.error(
        ["spec", "url"],
        "CREMA_VALIDATION_INVALID",
        `url ${JSON.stringify(spec.url)} is invalid: ${problem}`,
      );
    }
  }
  if (typeof spec.sha256 === "string" && spec.sha256 !== "" && !SHA256.test(spec.sha256)) {
    ctx.error(
      ["spec", "sha256"],
      "CREMA_VALIDATION_INVALID",
      "sha256 must be 64 lowercase hexadecimal characters (the module's SHA-256 digest), or left out",
    );
  }
  checkLength(ctx, ["spec", "imagePullSecret"], spec.imagePullSecret, 253, "imagePullSecret");
  checkLength(ctx, ["spec", "pluginName"], spec.pluginName, 256, "pluginName");
  if (present(spec.priority)) {
    const p = spec.priority;
    if (typeof p === "number" && (!Number.isInteger(p) || p < INT32_MIN || p > INT32_MAX)) {
      ctx.error(
        ["spec", "priority"],
        "CREMA_VALIDATION_RANGE",
        `priority ${p} must be a whole number from ${INT32_MIN} to ${INT32_MAX}`,
      );
    }
  }
  if (isObj(spec.vmConfig)) checkEnv(ctx, ["spec", "vmConfig", "env"], spec.vmConfig.env);
  checkMatch(ctx, spec);
};

function checkLength(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
  max: number,
  what: string,
): void {
  if (typeof value !== "string") return;
  if (value === "") {
    ctx.error(path, "CREMA_VALIDATION_NAME", `${what} is empty; set a name or remove the field`);
  } else if (value.length > max) {
    ctx.error(
      path,
      "CREMA_VALIDATION_NAME",
      `${what} is ${value.length} characters long; the maximum is ${max}`,
    );
  }
}

function checkEnv(ctx: ValidationContext, path: FieldPath, env: unknown): void {
  if (Array.isArray(env) && env.length > ENV_MAX) {
    ctx.error(
      path,
      "CREMA_VALIDATION_RANGE",
      `vmConfig.env has ${env.length} entries; at most ${ENV_MAX} are allowed`,
    );
  }
  const seen = new Set<string>();
  for (const [entry, i] of items(env)) {
    if (!isObj(entry)) continue;
    const at = [...path, i];
    const name = entry.name;
    if (name === "") {
      ctx.error(
        [...at, "name"],
        "CREMA_VALIDATION_NAME",
        "environment variable name is empty; name the variable",
      );
    } else if (typeof name === "string") {
      if (name.length > 256) {
        ctx.error(
          [...at, "name"],
          "CREMA_VALIDATION_NAME",
          "environment variable name is longer than 256 characters",
        );
      }
      if (seen.has(name)) {
        ctx.error(
          [...at, "name"],
          "CREMA_VALIDATION_DUPLICATE",
          `environment variable ${name} is listed twice; keep one entry`,
        );
      }
      seen.add(name);
    }
    checkEnvValue(ctx, at, entry);
  }
}

function checkEnvValue(ctx: ValidationContext, at: FieldPath, entry: Obj): void {
  if (entry.valueFrom === "HOST" && present(entry.value)) {
    ctx.error(
      [...at, "value"],
      "CREMA_VALIDATION_EXCLUSIVE",
      "value cannot be set when valueFrom is HOST (the value is read from the proxy's environment); remove value or use valueFrom: INLINE",
    );
  }
  if (typeof entry.value === "string" && entry.value.length > 2048) {
    ctx.error(
      [...at, "value"],
      "CREMA_VALIDATION_RANGE",
      "environment variable value is longer than 2048 characters",
    );
  }
}

function checkMatch(ctx: ValidationContext, spec: Obj): void {
  for (const [selector, i] of items(spec.match)) {
    const at = ["spec", "match", i];
    if (selector === null) {
      ctx.error(
        at,
        "CREMA_VALIDATION_REQUIRED",
        "match entry is empty (null); give it a mode or ports, or remove it",
      );
      continue;
    }
    if (!isObj(selector)) continue;
    for (const [port, j] of items(selector.ports)) {
      if (port === null) {
        ctx.error(
          [...at, "ports", j],
          "CREMA_VALIDATION_REQUIRED",
          "port entry is empty (null); give it a number or remove it",
        );
      } else if (isObj(port)) {
        checkPort(ctx, [...at, "ports", j, "number"], port.number);
      }
    }
  }
}
