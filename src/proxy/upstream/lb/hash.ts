// xxHash64, the hash Envoy's ring hash (seed 0) and Maglev (seeds 0 and 1) place hosts with.

// Pure JS on pairs of uint32 halves: no BigInt arithmetic, so building a ring of millions of
// entries stays fast; checked against the reference implementation in hash.test.ts.

/** A 64-bit value as two unsigned 32-bit halves. */
export interface Hash64 {
  readonly hi: number;
  readonly lo: number;
}

const P1H = 0x9e3779b1;
const P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d;
const P2L = 0x27d4eb4f;
const P3H = 0x165667b1;
const P3L = 0x9e3779f9;
const P4H = 0x85ebca77;
const P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f;
const P5L = 0x165667c5;

// Result registers of the 64-bit helpers below (avoids allocating a pair per operation).
let rh = 0;
let rl = 0;

function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  rl = lo >>> 0;
  rh = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** 64-bit multiplication modulo 2^64, in 16-bit limbs so every partial product is exact. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a48 = ah >>> 16;
  const a32 = ah & 0xffff;
  const a16 = al >>> 16;
  const a00 = al & 0xffff;
  const b48 = bh >>> 16;
  const b32 = bh & 0xffff;
  const b16 = bl >>> 16;
  const b00 = bl & 0xffff;
  let c00 = a00 * b00;
  let c16 = c00 >>> 16;
  c00 &= 0xffff;
  c16 += a16 * b00;
  let c32 = c16 >>> 16;
  c16 &= 0xffff;
  c16 += a00 * b16;
  c32 += c16 >>> 16;
  c16 &= 0xffff;
  c32 += a32 * b00;
  let c48 = c32 >>> 16;
  c32 &= 0xffff;
  c32 += a16 * b16;
  c48 += c32 >>> 16;
  c32 &= 0xffff;
  c32 += a00 * b32;
  c48 += c32 >>> 16;
  c32 &= 0xffff;
  c48 += a48 * b00 + a32 * b16 + a16 * b32 + a00 * b48;
  c48 &= 0xffff;
  rh = ((c48 << 16) | c32) >>> 0;
  rl = ((c16 << 16) | c00) >>> 0;
}

/** Rotate left by r bits, 0 < r < 32 (XXH64 only rotates by less than 32). */
function rotl(h: number, l: number, r: number): void {
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

function read32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** XXH64's round: acc = rotl(acc + input * P2, 31) * P1, with the input read at b[p]. */
function round(acch: number, accl: number, b: Uint8Array, p: number): void {
  mul(read32(b, p + 4), read32(b, p), P2H, P2L);
  add(acch, accl, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

/** acc = (acc ^ round(0, v)) * P1 + P4 */
function mergeRound(acch: number, accl: number, vh: number, vl: number): void {
  mul(vh, vl, P2H, P2L);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
  mul((acch ^ rh) >>> 0, (accl ^ rl) >>> 0, P1H, P1L);
  add(rh, rl, P4H, P4L);
}

function xxh64(b: Uint8Array, len: number, seedH: number, seedL: number): void {
  let p = 0;
  let hh: number;
  let hl: number;
  if (len >= 32) {
    add(seedH, seedL, P1H, P1L);
    add(rh, rl, P2H, P2L);
    let v1h = rh;
    let v1l = rl;
    add(seedH, seedL, P2H, P2L);
    let v2h = rh;
    let v2l = rl;
    let v3h = seedH;
    let v3l = seedL;
    add(seedH, seedL, ~P1H >>> 0, ~P1L >>> 0); // seed - P1 = seed + ~P1 + 1
    add(rh, rl, 0, 1);
    let v4h = rh;
    let v4l = rl;
    for (; p + 32 <= len; p += 32) {
      round(v1h, v1l, b, p);
      v1h = rh;
      v1l = rl;
      round(v2h, v2l, b, p + 8);
      v2h = rh;
      v2l = rl;
      round(v3h, v3l, b, p + 16);
      v3h = rh;
      v3l = rl;
      round(v4h, v4l, b, p + 24);
      v4h = rh;
      v4l = rl;
    }
    rotl(v1h, v1l, 1);
    hh = rh;
    hl = rl;
    rotl(v2h, v2l, 7);
    add(hh, hl, rh, rl);
    hh = rh;
    hl = rl;
    rotl(v3h, v3l, 12);
    add(hh, hl, rh, rl);
    hh = rh;
    hl = rl;
    rotl(v4h, v4l, 18);
    add(hh, hl, rh, rl);
    mergeRound(rh, rl, v1h, v1l);
    mergeRound(rh, rl, v2h, v2l);
    mergeRound(rh, rl, v3h, v3l);
    mergeRound(rh, rl, v4h, v4l);
  } else {
    add(seedH, seedL, P5H, P5L);
  }
  add(rh, rl, Math.floor(len / 0x1_0000_0000), len >>> 0);
  hh = rh;
  hl = rl;
  for (; p + 8 <= len; p += 8) {
    round(0, 0, b, p);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 27);
    mul(rh, rl, P1H, P1L);
    add(rh, rl, P4H, P4L);
    hh = rh;
    hl = rl;
  }
  if (p + 4 <= len) {
    mul(0, read32(b, p), P1H, P1L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 23);
    mul(rh, rl, P2H, P2L);
    add(rh, rl, P3H, P3L);
    hh = rh;
    hl = rl;
    p += 4;
  }
  for (; p < len; p++) {
    mul(0, b[p]!, P5H, P5L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 11);
    mul(rh, rl, P1H, P1L);
    hh = rh;
    hl = rl;
  }
  // Avalanche.
  hl = (hl ^ (hh >>> 1)) >>> 0;
  mul(hh, hl, P2H, P2L);
  hh = rh;
  hl = rl;
  hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0;
  hh = (hh ^ (hh >>> 29)) >>> 0;
  mul(hh, hl, P3H, P3L);
  rl = (rl ^ rh) >>> 0;
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

function run(input: string | Uint8Array, seed: number | bigint): void {
  let seedH = 0;
  let seedL = 0;
  if (typeof seed === "number" && seed >= 0 && seed <= 0xffffffff && Number.isInteger(seed)) {
    seedL = seed;
  } else {
    const seed64 = BigInt.asUintN(64, BigInt(seed));
    seedH = Number(seed64 >> 32n);
    seedL = Number(seed64 & 0xffffffffn);
  }
  if (typeof input === "string") {
    if (input.length * 3 > scratch.length) scratch = new Uint8Array(input.length * 3);
    const { written } = encoder.encodeInto(input, scratch);
    xxh64(scratch, written, seedH, seedL);
  } else {
    xxh64(input, input.length, seedH, seedL);
  }
}

/** XXH64 of a string's UTF-8 bytes (or of raw bytes) with the given seed, as two halves. */
export function xxHash64Parts(input: string | Uint8Array, seed: number | bigint = 0): Hash64 {
  run(input, seed);
  return { hi: rh, lo: rl };
}

/** XXH64 as an unsigned 64-bit bigint — what Envoy's `HashUtil::xxHash64` returns. */
export function xxHash64(input: string | Uint8Array, seed: number | bigint = 0): bigint {
  run(input, seed);
  return (BigInt(rh) << 32n) | BigInt(rl);
}

// A bigint stored into a BigUint64Array is taken mod 2^64 and read back as two uint32 halves
// with no BigInt arithmetic (which costs ~50 ns a pick).
const halves64 = new BigUint64Array(1);
const halves32 = new Uint32Array(halves64.buffer);
const HI = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;

/** The high 32 bits of `hash` mod 2^64. */
export function hashHigh(hash: bigint): number {
  halves64[0] = hash;
  return halves32[HI]!;
}

/** The low 32 bits of `hash` mod 2^64. */
export function hashLow(hash: bigint): number {
  halves64[0] = hash;
  return halves32[1 - HI]!;
}

/** Splits an unsigned 64-bit hash (e.g. from a route's hash policy) into its halves. */
export function splitHash64(hash: bigint): Hash64 {
  return { hi: hashHigh(hash), lo: hashLow(hash) };
}
