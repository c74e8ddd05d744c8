// Seeded pseudo-random helpers. The simulator's data must be a pure function of the seed, so nothing
// here (or anywhere in sim/data.ts) may touch Math.random.

export type Rng = () => number;

/** mulberry32: tiny, fast, good enough statistical quality for synthetic test data. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the joined parts: derives independent sub-streams ("seed 1, repo 3", "seed 1, faults"). */
export function hashSeed(...parts: Array<string | number>): number {
  let h = 0x811c9dc5;
  const s = parts.join("\u0001");
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function rngFor(...parts: Array<string | number>): Rng {
  return mulberry32(hashSeed(...parts));
}

/** Integer in [min, max], both inclusive. */
export function int(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

export function chance(rng: Rng, p: number): boolean {
  return rng() < p;
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error("pick from empty list");
  return items[Math.floor(rng() * items.length)] as T;
}

/** k distinct elements (order random); k is clamped to the list length. */
export function sample<T>(rng: Rng, items: readonly T[], k: number): T[] {
  const copy = items.slice();
  const n = Math.min(k, copy.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rng() * (copy.length - i));
    const tmp = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = tmp;
  }
  return copy.slice(0, n);
}

export function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  return sample(rng, items, items.length);
}

const HEX = "0123456789abcdef";
export function hex(rng: Rng, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += HEX[Math.floor(rng() * 16)];
  return s;
}

/** n sorted timestamps uniformly spread over [from, to]. */
export function sortedTimes(rng: Rng, n: number, from: number, to: number): number[] {
  const out: number[] = [];
  const span = Math.max(0, to - from);
  for (let i = 0; i < n; i++) out.push(from + Math.floor(rng() * span / 1000) * 1000);
  return out.sort((a, b) => a - b);
}
