// Compiled RE2 objects, shared and freed explicitly. re2-wasm runs in one fixed 16 MB WebAssembly
// heap per thread and never frees a regex by itself (its finalizer needs the long-gone
// FinalizationGroup API), so ~5,000 live regexes abort the module for good. Patterns are therefore
// interned with reference counts: a decoded route table holds a lease, unchanged patterns are
// reused across RDS updates, and releasing the lease frees what nothing else uses. The table is
// per module instance because the heap it accounts for is.
import { createRequire } from "node:module";
import type { RE2 } from "re2-wasm";

type Re2Module = typeof import("re2-wasm");

let loaded: Re2Module | undefined;

/** re2-wasm compiles its WebAssembly and reserves the 16 MB heap as it loads: a proxy whose
 * configuration has no regex never loads it. */
function re2Module(): Re2Module {
  loaded ??= createRequire(import.meta.url)("re2-wasm") as Re2Module;
  return loaded;
}

/** Whether this module instance has loaded re2-wasm (lets tests prove a configuration did not). */
export function re2Loaded(): boolean {
  return loaded !== undefined;
}

export type Re2Compile = { ok: true; re: RE2 } | { ok: false; reason: string };

/** At most this many distinct patterns are live at once (each costs ~3–6 KB of the 16 MB heap). */
export const MAX_LIVE_REGEXES = 1500;

interface Interned {
  key: string;
  re: RE2;
  refs: number;
}

const interned = new Map<string, Interned>();

function free(re: RE2): void {
  (re as unknown as { wrapper: { delete(): void } }).wrapper.delete();
}

function compile(pattern: string, flags: string): Re2Compile {
  try {
    return { ok: true, re: new (re2Module().RE2)(pattern, flags) };
  } catch (error) {
    const message = (error as Error).message;
    if (/abort|OOM/.test(message)) return { ok: false, reason: "re2-wasm ran out of memory" };
    return { ok: false, reason: message.replace(/^Invalid regular expression: \/.*\/\w*: /s, "") };
  }
}

/** Compiles `pattern`, lends it to `use`, and frees it: for validation and probes. */
export function withTemporaryRe2<T>(
  pattern: string,
  flags: string,
  use: (re: RE2) => T,
): { ok: true; value: T } | { ok: false; reason: string } {
  const compiled = compile(pattern, flags);
  if (!compiled.ok) return compiled;
  try {
    return { ok: true, value: use(compiled.re) };
  } finally {
    free(compiled.re);
  }
}

/** The regexes one decoded route configuration holds. */
export class Re2Lease {
  private held: Interned[] = [];

  /** A shared compiled regex for (pattern, flags); counted until this lease is released. */
  acquire(pattern: string, flags: string): Re2Compile {
    const key = `${flags}/${pattern}`;
    let entry = interned.get(key);
    if (entry === undefined) {
      if (interned.size >= MAX_LIVE_REGEXES) {
        return {
          ok: false,
          reason: `more than ${MAX_LIVE_REGEXES} distinct regexes would be live (re2-wasm's heap is 16 MB)`,
        };
      }
      const compiled = compile(pattern, flags);
      if (!compiled.ok) return compiled;
      entry = { key, re: compiled.re, refs: 0 };
      interned.set(key, entry);
    }
    entry.refs++;
    this.held.push(entry);
    return { ok: true, re: entry.re };
  }

  /** How many acquisitions the lease holds. */
  get size(): number {
    return this.held.length;
  }

  /** Drops this lease's references, freeing regexes no other lease holds. Idempotent. */
  release(): void {
    for (const entry of this.held) {
      entry.refs--;
      if (entry.refs === 0) {
        interned.delete(entry.key);
        free(entry.re);
      }
    }
    this.held = [];
  }
}

/** How many distinct compiled regexes are live in this thread (for tests and metrics). */
export function liveRegexCount(): number {
  return interned.size;
}
