// Reads one proto3-JSON message during route decoding: typed accessors that record every problem
// with its field path (instead of throwing), and a final check that reports fields nobody read.
import type { JsonObject } from "../../xds/proto-json.ts";
import type { Re2Lease } from "./re2-pool.ts";

export interface DecodeContext {
  errors: string[];
  /** Holds the regexes compiled while decoding (released if decoding fails). */
  regexes: Re2Lease;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const camelCache = new Map<string, string>();

function camel(name: string): string {
  let out = camelCache.get(name);
  if (out === undefined) {
    out = name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    camelCache.set(name, out);
  }
  return out;
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** Milliseconds of a proto3-JSON duration ("1.5s"), floored as Envoy's PROTOBUF_GET_MS does. */
export function parseProtoDuration(value: unknown): number | undefined {
  const match = typeof value === "string" ? DURATION.exec(value) : null;
  if (!match || match[1]) return undefined;
  const nanos = Number((match[3] ?? "").padEnd(9, "0"));
  return Number(match[2]) * 1000 + Math.floor(nanos / 1_000_000);
}

/** One message: accessors mark fields as read; `finish()` reports the rest as unknown. */
export class Fields {
  readonly ctx: DecodeContext;
  readonly path: string;
  readonly obj: Record<string, unknown>;
  private readonly used = new Set<string>();

  constructor(ctx: DecodeContext, obj: Record<string, unknown>, path: string) {
    this.ctx = ctx;
    this.obj = obj;
    this.path = path;
  }

  /** The message at `path`, or undefined (with an error) when `value` is not an object. */
  static of(ctx: DecodeContext, value: unknown, path: string): Fields | undefined {
    if (isObject(value)) return new Fields(ctx, value, path);
    ctx.errors.push(`${path || "(root)"}: expected an object`);
    return undefined;
  }

  error(message: string, field?: string): void {
    const at = field === undefined ? this.path : join(this.path, field);
    this.ctx.errors.push(`${at || "(root)"}: ${message}`);
  }

  at(field: string): string {
    return join(this.path, field);
  }

  private keyOf(field: string): string | undefined {
    if (field in this.obj && this.obj[field] !== null) return field;
    const alt = camel(field);
    if (alt !== field && alt in this.obj && this.obj[alt] !== null) return alt;
    return undefined;
  }

  has(field: string): boolean {
    return this.keyOf(field) !== undefined;
  }

  raw(field: string): unknown {
    const key = this.keyOf(field);
    this.used.add(field).add(camel(field));
    return key === undefined ? undefined : this.obj[key];
  }

  /** Marks fields as known and deliberately not used by routing. */
  skip(...fields: string[]): void {
    for (const f of fields) this.used.add(f).add(camel(f));
  }

  /** A field routing must not silently ignore: its presence is an error (so the proxy NACKs). */
  unsupported(field: string, why = "not supported by crema's proxy"): void {
    if (this.raw(field) !== undefined) this.error(why, field);
  }

  string(field: string, minLen = 0): string {
    const value = this.raw(field);
    if (value === undefined) {
      if (minLen > 0) this.error(`must be at least ${minLen} character(s)`, field);
      return "";
    }
    if (typeof value !== "string") {
      this.error("expected a string", field);
      return "";
    }
    if (value.length < minLen) this.error(`must be at least ${minLen} character(s)`, field);
    return value;
  }

  optString(field: string): string | undefined {
    return this.raw(field) === undefined ? undefined : this.string(field);
  }

  bool(field: string): boolean {
    return this.optBool(field) ?? false;
  }

  optBool(field: string): boolean | undefined {
    const value = this.raw(field);
    if (value === undefined || typeof value === "boolean") return value;
    this.error("expected true or false", field);
    return undefined;
  }

  /** An unsigned integer (uint32/uint64 or a wrapper); numeric strings accepted as proto3 JSON allows. */
  optUint(field: string, max = 0xffff_ffff): number | undefined {
    const value = this.raw(field);
    if (value === undefined) return undefined;
    const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > max) {
      this.error(`expected an integer between 0 and ${max}`, field);
      return undefined;
    }
    return n;
  }

  uint(field: string, fallback = 0, max?: number): number {
    return this.optUint(field, max) ?? fallback;
  }

  /** A signed 64-bit integer (precision beyond 2^53 is lost). */
  int64(field: string): number {
    const value = this.raw(field);
    if (value === undefined) return 0;
    const n = typeof value === "string" && /^[+-]?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n)) {
      this.error("expected an integer", field);
      return 0;
    }
    return n;
  }

  /** An enum given by name or number; the name is returned. */
  enumValue<T extends string>(field: string, names: readonly T[]): T {
    const value = this.raw(field);
    if (value === undefined) return names[0]!;
    if (typeof value === "number" && names[value] !== undefined) return names[value]!;
    if (typeof value === "string" && (names as readonly string[]).includes(value))
      return value as T;
    this.error(`expected one of ${names.join(", ")}`, field);
    return names[0]!;
  }

  /** A google.protobuf.Duration in ms (floored); negative or malformed values are errors. */
  duration(field: string): number | undefined {
    const value = this.raw(field);
    if (value === undefined) return undefined;
    const ms = parseProtoDuration(value);
    if (ms === undefined) {
      this.error(`${JSON.stringify(value)} is not a non-negative duration such as "1.5s"`, field);
    }
    return ms;
  }

  object(field: string): Fields | undefined {
    const value = this.raw(field);
    return value === undefined ? undefined : Fields.of(this.ctx, value, this.at(field));
  }

  /** Elements of a repeated field with their paths; [] when absent. */
  list(field: string): Array<[unknown, string]> {
    const value = this.raw(field);
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      this.error("expected a list", field);
      return [];
    }
    return value.map((v, i) => [v, `${this.at(field)}[${i}]`]);
  }

  objects(field: string): Fields[] {
    const out: Fields[] = [];
    for (const [v, path] of this.list(field)) {
      const f = Fields.of(this.ctx, v, path);
      if (f) out.push(f);
    }
    return out;
  }

  strings(field: string): string[] {
    const out: string[] = [];
    for (const [v, path] of this.list(field)) {
      if (typeof v === "string") out.push(v);
      else this.ctx.errors.push(`${path}: expected a string`);
    }
    return out;
  }

  /** Entries of a map field with their paths. */
  entries(field: string): Array<[string, unknown, string]> {
    const value = this.raw(field);
    if (value === undefined) return [];
    if (!isObject(value)) {
      this.error("expected a map (object)", field);
      return [];
    }
    return Object.entries(value).map(([k, v]) => [k, v, `${this.at(field)}[${JSON.stringify(k)}]`]);
  }

  /** The set members of a oneof; more than one is an error. */
  oneof<T extends string>(fields: readonly T[]): T | undefined {
    const set = fields.filter((f) => this.has(f));
    if (set.length > 1) this.error(`only one of ${set.join(", ")} may be set`);
    return set[0];
  }

  /** A JSON object kept opaque (metadata, typed configs). */
  json(field: string): JsonObject | undefined {
    const value = this.raw(field);
    if (value === undefined) return undefined;
    if (isObject(value)) return value as JsonObject;
    this.error("expected an object", field);
    return undefined;
  }

  /** Reports every field that no accessor read. */
  finish(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.used.has(key) && this.obj[key] !== null) this.error("unknown field", key);
    }
  }
}
