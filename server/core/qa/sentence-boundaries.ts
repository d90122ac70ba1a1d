/**
 * Story sentences from a recognised utterance (spoken QA): a character tagger (the speech_qa
 * model's `sentence_boundaries` graph, models/speech_qa/recipe/segmenter.py) gives a logit per
 * character that a new sentence starts there; the text is cut where it is above 0. A story read
 * fluently reaches the recognizer as one utterance ("mary went to the kitchen john ran to the
 * garden", often with words run together across the boundary), which the memory network must read
 * one sentence per slot. Server and browser run it alike.
 */
import { Tensor } from 'onnxruntime-common';
import type { GraphRunner } from '../graph-runner.ts';

export interface SegmenterSpec {
  /** Graph input: character ids [1, T] int64, the index in `alphabet` + 1 (0 for any other character). */
  chars: string;
  /** Graph output: boundary logits [1, T]. */
  boundary: string;
  alphabet: string;
}

/** Character ids of a text as the segmenter reads it (lower case). */
export function segmenterChars(text: string, alphabet: string): BigInt64Array {
  return BigInt64Array.from(text.toLowerCase(), (c) => BigInt(alphabet.indexOf(c) + 1));
}

/**
 * A piece with fewer letters than this is no sentence (bAbI's shortest has 13): it stays with the
 * sentence before it (or after it, if first). The recognizer's endpointing leaves such tails ("the
 * cinemamama", "the schomo") that the tagger would otherwise make sentences of.
 */
export const MIN_SENTENCE_LETTERS = 6;

/**
 * The text cut before every character whose logit is above 0 (never before the first), pieces
 * trimmed and empty ones dropped; a piece of fewer than MIN_SENTENCE_LETTERS letters or digits is
 * joined to its neighbour (the text between them kept as it was).
 */
export function cutAtBoundaries(text: string, logits: ArrayLike<number>): string[] {
  const starts = [0];
  for (let i = 1; i < text.length; i++) if (logits[i] > 0) starts.push(i);
  const letters = (a: number, b: number) => (text.slice(a, b).match(/[a-z0-9]/gi) ?? []).length;
  // drop a cut while a piece is too short: a short first piece joins the next, any other the one before
  for (let k = 0; k < starts.length && starts.length > 1;) {
    const end = k + 1 < starts.length ? starts[k + 1] : text.length;
    if (letters(starts[k], end) >= MIN_SENTENCE_LETTERS) k++;
    else starts.splice(k === 0 ? 1 : k, 1);
  }
  const pieces = starts.map((a, k) => text.slice(a, k + 1 < starts.length ? starts[k + 1] : text.length).trim());
  return pieces.filter((piece) => piece.length > 0);
}

/**
 * Characters the graph reads per run; a longer utterance is read in windows that overlap by
 * `SEGMENTER_OVERLAP` characters on each side, each character's logit taken from the window where
 * it is furthest from an edge.
 */
export const SEGMENTER_WINDOW = 512;
const SEGMENTER_OVERLAP = 64;

/** [start, end) windows over `length` characters and, per window, the range [from, to) whose logits it gives. */
export function segmenterWindows(length: number, window = SEGMENTER_WINDOW, overlap = SEGMENTER_OVERLAP): { start: number; end: number; from: number; to: number }[] {
  if (length <= window) return [{ start: 0, end: length, from: 0, to: length }];
  const out = [];
  const step = window - 2 * overlap;
  for (let from = 0; from < length; from += step) {
    const to = Math.min(length, from + step);
    const start = Math.max(0, Math.min(from - overlap, length - window));
    out.push({ start, end: Math.min(length, start + window), from, to });
  }
  return out;
}

export class SentenceSegmenter {
  constructor(
    readonly spec: SegmenterSpec,
    private readonly graph: GraphRunner,
  ) {}

  /** The story sentences of one recognised utterance, in order. */
  async split(text: string): Promise<string[]> {
    if (text.trim().length < 2) return text.trim() ? [text.trim()] : [];
    const ids = segmenterChars(text, this.spec.alphabet);
    const logits = new Float32Array(ids.length);
    for (const w of segmenterWindows(ids.length)) {
      const part = ids.slice(w.start, w.end);
      const out = await this.graph.run({ [this.spec.chars]: new Tensor('int64', part, [1, part.length]) });
      logits.set((out[this.spec.boundary].data as Float32Array).subarray(w.from - w.start, w.to - w.start), w.from);
    }
    return cutAtBoundaries(text, logits);
  }
}
