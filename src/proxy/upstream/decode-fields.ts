// The routing decoder's field reader (paths on every error) reused for CDS/EDS resources.
import { Fields } from "../routing/decode-reader.ts";
import type { Re2Lease } from "../routing/re2-pool.ts";

export { Fields, isObject } from "../routing/decode-reader.ts";

/**
 * A reader over `value` at `path` collecting problems into `errors`, or undefined (with an
 * error) when `value` is not an object. Cluster and endpoint messages hold no regexes, so the
 * context carries no RE2 lease (importing the pool would load re2-wasm for nothing).
 */
export function readerFor(errors: string[], value: unknown, path: string): Fields | undefined {
  return Fields.of({ errors, regexes: undefined as unknown as Re2Lease }, value, path);
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** An error unless the wrapper/percentage `value` (if given) is within [min, max]. */
export function checkRange(
  f: Fields,
  field: string,
  value: number | undefined,
  min: number,
  max: number,
): void {
  if (value !== undefined && (value < min || value > max))
    f.error(`must be between ${min} and ${max}, got ${value}`, field);
}
