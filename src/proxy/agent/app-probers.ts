// The application probes the agent performs for the kubelet: Istio's injector rewrites a pod's
// httpGet/tcpSocket/grpc probes to `GET :15020/app-health/<container>/<readyz|livez|startupz>`
// and passes the originals in ISTIO_KUBE_APP_PROBERS; this decodes and checks that JSON.
// Pure: the status server (status-server.ts) serves the paths, app-probe.ts runs the probes.

export const APP_PROBERS_ENV = "ISTIO_KUBE_APP_PROBERS";

/** pilot-agent's pattern for prober paths (`/app-lifecycle/…` serves lifecycle hooks). */
export const APP_PROBER_PATH =
  /^\/(app-health|app-lifecycle)\/[^/]+\/(livez|readyz|startupz|prestopz|poststartz)$/;

/** Kubernetes' default `timeoutSeconds`, used when the prober has none (or 0). */
export const DEFAULT_PROBE_TIMEOUT_MS = 1000;

export interface ProbeHeader {
  readonly name: string;
  readonly value: string;
}

export interface HttpGetProber {
  readonly kind: "httpGet";
  /** Path and query, always starting with "/". */
  readonly path: string;
  readonly port: number;
  readonly scheme: "HTTP" | "HTTPS";
  /** The probe's `httpHeaders`, in order. */
  readonly httpHeaders: readonly ProbeHeader[];
  readonly timeoutMs: number;
}

export interface TcpSocketProber {
  readonly kind: "tcpSocket";
  readonly port: number;
  readonly timeoutMs: number;
}

export interface GrpcProber {
  readonly kind: "grpc";
  readonly port: number;
  /** The `service` asked of grpc.health.v1.Health/Check; "" is the whole server. */
  readonly service: string;
  readonly timeoutMs: number;
}

export type AppProber = HttpGetProber | TcpSocketProber | GrpcProber;

/** Prober path (`/app-health/web/readyz`) → what to do. */
export type AppProbers = ReadonlyMap<string, AppProber>;

export type AppProbersParse =
  | { ok: true; probers: AppProbers }
  | { ok: false; errors: readonly string[] };

type Obj = Record<string, unknown>;

const isObject = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** What a request target may carry without escaping (node refuses spaces and controls). */
const PATH_CHARS = /^[\x21-\x7e]*$/;

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** A Kubernetes IntOrString port: pilot-agent takes only numbers (the injector resolves names). */
function portOf(value: unknown, at: string, errors: string[]): number {
  if (typeof value === "string") {
    errors.push(
      `${at}: the port must be a number (named ports are resolved by the injector), got ${show(value)}`,
    );
  } else if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) {
    errors.push(`${at}: the port must be a whole number from 1 to 65535, got ${show(value)}`);
  }
  return value as number;
}

function timeoutOf(value: unknown, at: string, errors: string[]): number {
  if (value === undefined || value === null || value === 0) return DEFAULT_PROBE_TIMEOUT_MS;
  if (!Number.isInteger(value) || (value as number) < 0) {
    errors.push(`${at}: must be a whole number of seconds, got ${show(value)}`);
    return DEFAULT_PROBE_TIMEOUT_MS;
  }
  return (value as number) * 1000;
}

function headersOf(value: unknown, at: string, errors: string[]): ProbeHeader[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    errors.push(`${at}: must be a list of {name, value}, got ${show(value)}`);
    return [];
  }
  const out: ProbeHeader[] = [];
  value.forEach((header, i) => {
    const name = isObject(header) ? header.name : undefined;
    const text = isObject(header) ? (header.value ?? "") : undefined;
    if (typeof name !== "string" || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      errors.push(`${at}[${i}].name: must be an HTTP header name, got ${show(name)}`);
    } else if (typeof text !== "string" || /[\r\n\0]/.test(text)) {
      errors.push(`${at}[${i}].value: must be a string without line breaks, got ${show(text)}`);
    } else {
      out.push({ name, value: text });
    }
  });
  return out;
}

function decodeHttpGet(spec: Obj, at: string, timeoutMs: number, errors: string[]): AppProber {
  const rawPath = spec.path ?? "";
  let path = "/";
  if (typeof rawPath !== "string" || !PATH_CHARS.test(rawPath)) {
    errors.push(
      `${at}.path: must be a URL path without spaces or control characters, got ${show(rawPath)}`,
    );
  } else {
    path = rawPath.startsWith("/") ? rawPath : `/${rawPath}`;
  }
  const scheme = spec.scheme ?? "HTTP";
  if (scheme !== "HTTP" && scheme !== "HTTPS") {
    errors.push(`${at}.scheme: must be HTTP or HTTPS, got ${show(scheme)}`);
  }
  return {
    kind: "httpGet",
    path,
    port: portOf(spec.port, `${at}.port`, errors),
    scheme: scheme === "HTTPS" ? "HTTPS" : "HTTP",
    httpHeaders: headersOf(spec.httpHeaders, `${at}.httpHeaders`, errors),
    timeoutMs,
  };
}

function decodeProber(key: string, value: unknown, errors: string[]): AppProber | undefined {
  const at = `${APP_PROBERS_ENV}[${show(key)}]`;
  const before = errors.length;
  if (!APP_PROBER_PATH.test(key)) {
    errors.push(
      `${at}: the path must be /app-health/<container>/<readyz|livez|startupz> (or /app-lifecycle/<container>/<prestopz|poststartz>)`,
    );
  }
  if (!isObject(value)) {
    errors.push(`${at}: must be an object with httpGet, tcpSocket or grpc, got ${show(value)}`);
    return undefined;
  }
  const kinds = (["httpGet", "tcpSocket", "grpc"] as const).filter(
    (k) => value[k] !== undefined && value[k] !== null,
  );
  if (kinds.length !== 1) {
    errors.push(
      `${at}: must have exactly one of httpGet, tcpSocket or grpc, got ${kinds.length === 0 ? "none" : kinds.join(" and ")}`,
    );
    return undefined;
  }
  const kind = kinds[0]!;
  const spec = value[kind];
  if (!isObject(spec)) {
    errors.push(`${at}.${kind}: must be an object, got ${show(spec)}`);
    return undefined;
  }
  const timeoutMs = timeoutOf(value.timeoutSeconds, `${at}.timeoutSeconds`, errors);
  let prober: AppProber;
  if (kind === "httpGet") {
    prober = decodeHttpGet(spec, `${at}.httpGet`, timeoutMs, errors);
  } else if (kind === "tcpSocket") {
    prober = { kind, port: portOf(spec.port, `${at}.tcpSocket.port`, errors), timeoutMs };
  } else {
    const service = spec.service ?? "";
    if (typeof service !== "string") {
      errors.push(`${at}.grpc.service: must be a string, got ${show(service)}`);
    }
    const port = spec.port;
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
      errors.push(`${at}.grpc.port: must be a whole number from 1 to 65535, got ${show(port)}`);
    }
    prober = { kind, port: port as number, service: String(service), timeoutMs };
  }
  return errors.length === before ? prober : undefined;
}

/**
 * Decodes ISTIO_KUBE_APP_PROBERS (`{"/app-health/web/readyz": {"httpGet": {…},
 * "timeoutSeconds": 1}, …}`), collecting every problem. Unset or blank means no probers; fields
 * pilot-agent ignores (`httpGet.host`, `initialDelaySeconds` …) are ignored here too.
 */
export function parseAppProbers(text: string | undefined): AppProbersParse {
  if (text === undefined || text.trim() === "") return { ok: true, probers: new Map() };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, errors: [`${APP_PROBERS_ENV}: not valid JSON (${reason})`] };
  }
  if (json === null) return { ok: true, probers: new Map() };
  if (!isObject(json)) {
    return {
      ok: false,
      errors: [`${APP_PROBERS_ENV}: must be a JSON object of prober paths, got ${show(json)}`],
    };
  }
  const errors: string[] = [];
  const probers = new Map<string, AppProber>();
  for (const [path, value] of Object.entries(json)) {
    const prober = decodeProber(path, value, errors);
    if (prober) probers.set(path, prober);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, probers };
}
