// GETs a JSON document from a running component's debug or admin server (the control plane's
// /debug/syncz, a proxy's /config_dump); any failure is CREMA_RUNTIME_REQUEST_FAILED naming
// the URL.
import { CremaError } from "../../base/errors.ts";

/** Long enough for a large config dump, short enough not to hang on a stopped process. */
const REQUEST_TIMEOUT_MS = 15_000;

export async function fetchJson(url: string, what: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    const reason =
      error instanceof Error ? ((error.cause as Error)?.message ?? error.message) : error;
    throw new CremaError(
      "CREMA_RUNTIME_REQUEST_FAILED",
      `cannot reach ${what} at ${url}: ${reason}`,
      {
        cause: error,
      },
    );
  }
  const text = await response.text();
  if (!response.ok) {
    throw new CremaError(
      "CREMA_RUNTIME_REQUEST_FAILED",
      `${what} answered ${response.status} to GET ${url}: ${text.trim().slice(0, 200)}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CremaError(
      "CREMA_RUNTIME_REQUEST_FAILED",
      `${what} answered GET ${url} with no JSON`,
    );
  }
}

/** `http://host:port` with any trailing slash removed, so paths can be appended. */
export function baseUrl(url: string): string {
  return url.replace(/\/+$/, "");
}
