/**
 * Memory-network input features; mirrors models/speech_qa/recipe/memory_features.py exactly.
 * A word is a set of hashed ids in 1..buckets-1 (the whole word, then its character n-grams of
 * `<word>`), so a misrecognised word still shares most ids with the right one; 0 is padding.
 * The memory holds the most recent sentence first.
 */
import { invalidArgument } from '../errors.ts';
import type { MemorySpec } from '../manifest.ts';
import { charNgramIds, fnv1a } from '../text/word-features.ts';

const WORD = /[a-z0-9']+/g;

export function memoryWords(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

export function wordIds(word: string, spec: MemorySpec['wordIds']): number[] {
  return [1 + (fnv1a(`w:${word}`) % (spec.buckets - 1)), ...charNgramIds(word, { n: spec.n, buckets: spec.buckets, max: spec.maxNgrams })];
}

/** Ids of one sentence written into `out` at `offset`: maxWords x (1 + maxNgrams), zero-padded (extra words dropped). */
function writeSentence(text: string, spec: MemorySpec, out: BigInt64Array, offset: number): void {
  const G = 1 + spec.wordIds.maxNgrams;
  memoryWords(text)
    .slice(0, spec.maxWords)
    .forEach((w, i) => wordIds(w, spec.wordIds).forEach((id, j) => (out[offset + i * G + j] = BigInt(id))));
}

/** story [maxSentences, maxWords, G] and question [maxWords, G] ids (int64, flattened). */
export function memoryInputs(sentences: readonly string[], question: string, spec: MemorySpec): { story: BigInt64Array; question: BigInt64Array } {
  if (sentences.length === 0) throw invalidArgument('story', 'has no sentences');
  if (sentences.length > spec.maxSentences) throw invalidArgument('story', `has ${sentences.length} sentences; the model reads at most ${spec.maxSentences}`);
  // a story of wordless sentences would be all padding: the network would answer from nothing
  if (sentences.every((s) => memoryWords(s).length === 0)) throw invalidArgument('story', 'has no words the model reads (letters a-z or digits)');
  if (memoryWords(question).length === 0) throw invalidArgument('question', 'has no words');
  const G = 1 + spec.wordIds.maxNgrams;
  const sentenceSize = spec.maxWords * G;
  const story = new BigInt64Array(spec.maxSentences * sentenceSize);
  [...sentences].reverse().forEach((s, i) => writeSentence(s, spec, story, i * sentenceSize));
  const q = new BigInt64Array(sentenceSize);
  writeSentence(question, spec, q, 0);
  return { story, question: q };
}
