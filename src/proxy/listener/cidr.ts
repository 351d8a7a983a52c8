// IP addresses as bigints and CIDR ranges with longest-prefix lookup, as Envoy's LC-trie is used
// for filter-chain matching (exclusive: only the longest matching prefix counts).
import { isIPv4, isIPv6 } from "node:net";

export interface ParsedIp {
  v6: boolean;
  value: bigint;
}

function parseV4(s: string): bigint {
  let out = 0n;
  for (const part of s.split(".")) out = (out << 8n) | BigInt(Number(part));
  return out;
}

/** Parses an IPv4 or IPv6 literal; IPv4-mapped IPv6 (::ffff:a.b.c.d) is treated as IPv4. */
export function parseIp(s: string): ParsedIp | undefined {
  const zone = s.indexOf("%");
  const text = zone >= 0 ? s.slice(0, zone) : s;
  if (isIPv4(text)) return { v6: false, value: parseV4(text) };
  if (!isIPv6(text)) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = "", right] = head.split("::");
  const l = left ? left.split(":") : [];
  const r = right === undefined ? [] : right ? right.split(":") : [];
  const groups = [...l, ...new Array<string>(8 - l.length - r.length).fill("0"), ...r];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(Number.parseInt(g, 16));
  if (tailV4 !== undefined) value = (value & ~0xffff_ffffn) | tailV4;
  if (value >> 32n === 0xffffn) return { v6: false, value: value & 0xffff_ffffn };
  return { v6: true, value };
}

export interface CompiledCidr {
  v6: boolean;
  prefixLen: number;
  /** The network address (host bits cleared). */
  network: bigint;
  mask: bigint;
}

/** Compiles `address/prefixLen`, clearing host bits as Envoy's CidrRange does; undefined if invalid. */
export function compileCidr(address: string, prefixLen: number): CompiledCidr | undefined {
  const ip = parseIp(address);
  if (!ip) return undefined;
  const bits = ip.v6 ? 128 : 32;
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > bits) return undefined;
  const all = (1n << BigInt(bits)) - 1n;
  const mask = prefixLen === 0 ? 0n : (all >> BigInt(bits - prefixLen)) << BigInt(bits - prefixLen);
  return { v6: ip.v6, prefixLen, network: ip.value & mask, mask };
}

export function cidrKey(c: CompiledCidr): string {
  return `${c.v6 ? 6 : 4}/${c.network.toString(16)}/${c.prefixLen}`;
}

/** The "any address" ranges Envoy inserts for a chain with no prefix ranges. */
export const ANY_CIDRS: readonly CompiledCidr[] = [
  compileCidr("0.0.0.0", 0) as CompiledCidr,
  compileCidr("::", 0) as CompiledCidr,
];

/** Maps CIDR ranges to values; `lookup` returns the value of the longest matching prefix. */
export class CidrTable<T> {
  private readonly byKey = new Map<string, { cidr: CompiledCidr; value: T }>();
  private sorted: Array<{ cidr: CompiledCidr; value: T }> = [];

  get(cidr: CompiledCidr): T | undefined {
    return this.byKey.get(cidrKey(cidr))?.value;
  }

  set(cidr: CompiledCidr, value: T): void {
    this.byKey.set(cidrKey(cidr), { cidr, value });
  }

  values(): T[] {
    return [...this.byKey.values()].map((e) => e.value);
  }

  /** Sorts entries longest prefix first; call once after the last `set`. */
  freeze(): void {
    this.sorted = [...this.byKey.values()].sort((a, b) => b.cidr.prefixLen - a.cidr.prefixLen);
  }

  lookup(ip: ParsedIp | undefined): T | undefined {
    if (!ip) return undefined;
    for (const { cidr, value } of this.sorted) {
      if (cidr.v6 === ip.v6 && (ip.value & cidr.mask) === cidr.network) return value;
    }
    return undefined;
  }
}
