import { describe, expect, it } from 'vitest';
import { Tensor } from 'onnxruntime-common';
import { cutAtBoundaries, segmenterChars, segmenterWindows, SentenceSegmenter } from './sentence-boundaries.ts';

const ALPHABET = "abcdefghijklmnopqrstuvwxyz' ";

describe('sentence boundaries', () => {
  it('cuts before each character with a positive logit, never before the first, trimming the pieces', () => {
    const text = 'mary went to the kitchen john ran to the garden';
    const logits = Array.from(text, () => -3);
    logits[0] = 5; // the first character starts the utterance anyway
    logits[text.indexOf('john')] = 2;
    expect(cutAtBoundaries(text, logits)).toEqual(['mary went to the kitchen', 'john ran to the garden']);
  });

  it('cuts inside words run together across a sentence boundary', () => {
    const text = 'ran to the schoolbenhard went to the park';
    const logits = Array.from(text, (_, i) => (i === text.indexOf('benhard') ? 1 : -1));
    expect(cutAtBoundaries(text, logits)).toEqual(['ran to the school', 'benhard went to the park']);
  });

  it('drops empty pieces when a boundary falls on a space, and keeps a text with no boundary whole', () => {
    const text = 'bill moved to the office  fred ran to the park';
    const logits = Array.from(text, () => -1);
    logits[text.indexOf('  ')] = 1;
    logits[text.indexOf('  ') + 1] = 1;
    expect(cutAtBoundaries(text, logits)).toEqual(['bill moved to the office', 'fred ran to the park']);
    expect(cutAtBoundaries('where is mary', [-1, -1, -1])).toEqual(['where is mary']);
  });

  it('keeps a tail of fewer than 6 letters with the sentence before it, and a short head with the one after', () => {
    const text = 'bernhard wokedto the cinemamama yann traeld to the kitchen o';
    const logits = Array.from(text, () => -1);
    for (const at of [text.lastIndexOf('mama'), text.indexOf('yann'), text.length - 1]) logits[at] = 1;
    expect(cutAtBoundaries(text, logits)).toEqual(['bernhard wokedto the cinemamama', 'yann traeld to the kitchen o']);
    const head = 'oa fred ran to the park';
    expect(
      cutAtBoundaries(
        head,
        Array.from(head, (_, i) => (i === 3 ? 1 : -1)),
      ),
    ).toEqual(['oa fred ran to the park']);
    expect(cutAtBoundaries('mama', [-1, 1, -1, 1])).toEqual(['mama']);
  });

  it('reads characters as the recipe encodes them: alphabet index + 1, 0 for others, lower-cased', () => {
    expect(Array.from(segmenterChars("Ab z'?", ALPHABET), Number)).toEqual([1, 2, 28, 26, 27, 0]);
  });

  it('reads a long utterance in overlapping windows that give every character its logit once', () => {
    expect(segmenterWindows(100)).toEqual([{ start: 0, end: 100, from: 0, to: 100 }]);
    const windows = segmenterWindows(1000, 512, 64);
    let next = 0;
    for (const w of windows) {
      expect(w.from).toBe(next);
      expect(w.end - w.start).toBeLessThanOrEqual(512);
      expect(w.start).toBeLessThanOrEqual(Math.max(0, w.from - 64));
      expect(w.to <= w.end && w.from >= w.start).toBe(true);
      next = w.to;
    }
    expect(next).toBe(1000);
  });

  it('runs the graph over the utterance and cuts where it says', async () => {
    const text = 'sandra went to the park bill ran to the school';
    const graph = {
      inputNames: ['chars'],
      outputNames: ['boundary'],
      run: async (feeds: Record<string, Tensor>) => {
        const ids = feeds.chars.data as BigInt64Array;
        expect(feeds.chars.dims).toEqual([1, text.length]);
        const logits = Float32Array.from(ids, (_, i) => (i === text.indexOf('bill') ? 4 : -4));
        return { boundary: new Tensor('float32', logits, [1, ids.length]) };
      },
    };
    const seg = new SentenceSegmenter({ chars: 'chars', boundary: 'boundary', alphabet: ALPHABET }, graph);
    expect(await seg.split(text)).toEqual(['sandra went to the park', 'bill ran to the school']);
    expect(await seg.split(' ')).toEqual([]);
    // a story longer than one window: the cuts are where they would be in one run
    const long = Array.from({ length: 30 }, (_, i) => `sandra went to the park bill ran to the school${i}`).join(' ');
    const starts = new Set([...long.matchAll(/sandra|bill/g)].map((m) => m.index));
    const windowed = new SentenceSegmenter(
      { chars: 'chars', boundary: 'boundary', alphabet: ALPHABET },
      {
        inputNames: ['chars'],
        outputNames: ['boundary'],
        run: async (feeds: Record<string, Tensor>) => {
          const ids = feeds.chars.data as BigInt64Array;
          expect(ids.length).toBeLessThanOrEqual(512);
          // 's' of "sandra" or 'b' of "bill" after a space (not "school"): a stand-in that needs its neighbours
          const at = (i: number) => Number(ids[i]);
          const logits = Float32Array.from(ids, (c, i) => (i > 0 && at(i - 1) === 28 && ((at(i) === 19 && at(i + 1) === 1) || (at(i) === 2 && at(i + 1) === 9)) ? 4 : -4));
          return { boundary: new Tensor('float32', logits, [1, ids.length]) };
        },
      },
    );
    const pieces = await windowed.split(long);
    expect(pieces).toHaveLength(starts.size);
    expect(pieces.join(' ')).toBe(long);
  });
});
