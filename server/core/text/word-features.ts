/**
 * Per-token features of the word-level text models; mirrors models/_recipe_common/text_features.py.
 * ids: 0 = padding, 1 = unknown word.
 */
export const PAD_ID = 0;
export const UNK_ID = 1;

export function normaliseWord(word: string): string {
  return word.toLowerCase().replace(/\d/g, '0');
}

const encoder = new TextEncoder();

/** FNV-1a, 32 bit, over the UTF-8 bytes of `s`. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface CharNgramSpec {
  n: number;
  buckets: number;
  max: number;
}

/** Hashed character n-grams of `<word>` (lower case), each in 1..buckets-1, at most `max`. */
export function charNgramIds(word: string, spec: CharNgramSpec): number[] {
  const w = [...`<${word.toLowerCase()}>`];
  const count = Math.max(1, w.length - spec.n + 1);
  const ids: number[] = [];
  for (let i = 0; i < count && ids.length < spec.max; i++) {
    ids.push(1 + (fnv1a(w.slice(i, i + spec.n).join('')) % (spec.buckets - 1)));
  }
  return ids;
}

const CASED_UPPER = /\p{Lu}/u;
const CASED_LOWER = /\p{Ll}/u;
const DIGIT = /\p{Nd}/u;
const ALNUM = /[\p{L}\p{N}]/u;

/** 1 lower, 2 Title, 3 UPPER, 4 has a digit, 5 punctuation, 6 other. */
export function wordShape(word: string): number {
  if (DIGIT.test(word)) return 4;
  if (!ALNUM.test(word)) return 5;
  const hasUpper = CASED_UPPER.test(word);
  const hasLower = CASED_LOWER.test(word);
  if (hasLower && !hasUpper) return 1;
  if (hasUpper && !hasLower && [...word].length > 1) return 3;
  if (CASED_UPPER.test([...word][0] ?? '')) return 2;
  return 6;
}

export class Vocabulary {
  private readonly index = new Map<string, number>();

  constructor(readonly words: readonly string[]) {
    words.forEach((w, i) => this.index.set(w, i));
  }

  idOf(word: string): number {
    return this.index.get(normaliseWord(word)) ?? UNK_ID;
  }

  get size(): number {
    return this.words.length;
  }
}
