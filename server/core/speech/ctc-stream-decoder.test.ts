import { describe, expect, it } from 'vitest';
import { CtcStreamDecoder } from './ctc-stream-decoder.ts';

const ALPHABET = ['<blank>', ' ', 'a', 'b', 'i', 'h'];
const FRAME = 0.02; // 50 frames/s

/** Log-probabilities where each frame's label (a char or '_' for blank) has probability p. */
function frames(labels: string, p = 0.9): Float32Array {
  const V = ALPHABET.length;
  const out = new Float32Array(labels.length * V).fill(Math.log((1 - p) / (V - 1)));
  [...labels].forEach((c, t) => (out[t * V + (c === '_' ? 0 : ALPHABET.indexOf(c))] = Math.log(p)));
  return out;
}

const decoder = (extra = {}) => new CtcStreamDecoder({ alphabet: ALPHABET, blank: 0, wordSeparator: ' ', frameSeconds: FRAME, ...extra });

describe('CtcStreamDecoder', () => {
  it('decodes text with word times and confidences, the same in chunks as at once', () => {
    const labels = '__hh_i__ _ab_b___';
    const whole = decoder();
    whole.accept(frames(labels), labels.length);
    const chunked = decoder();
    for (let i = 0; i < labels.length; i += 4) chunked.accept(frames(labels.slice(i, i + 4)), Math.min(4, labels.length - i));
    const t = whole.partial();
    expect(t.text).toBe('hi abb');
    expect(t.words).toEqual([
      { word: 'hi', start: 2 * FRAME, end: 6 * FRAME, confidence: 0.9 },
      { word: 'abb', start: 10 * FRAME, end: 14 * FRAME, confidence: 0.9 },
    ]);
    expect(chunked.partial()).toEqual(t);
  });

  it('ends an utterance after 1.2 s of silence following speech, and starts the next one', () => {
    const d = decoder();
    expect(d.accept(frames('_hi'), 3)).toBe(false);
    expect(d.accept(frames('_'.repeat(59)), 59)).toBe(false); // 1.18 s of silence
    expect(d.accept(frames('_'), 1)).toBe(true); // 1.2 s
    const first = d.finalize();
    expect(first).toMatchObject({ text: 'hi', start: 0 });
    expect(first.end).toBeCloseTo(63 * FRAME, 10);
    d.accept(frames('ab'), 2);
    const second = d.partial();
    expect(second.text).toBe('ab');
    expect(second.words[0].start).toBeCloseTo(63 * FRAME, 10);
  });

  it('ends a silent utterance after 2.4 s and a long one after 20 s', () => {
    const silent = decoder();
    expect(silent.accept(frames('_'.repeat(119)), 119)).toBe(false);
    expect(silent.accept(frames('_'), 1)).toBe(true);
    expect(silent.finalize().text).toBe('');
    const talker = decoder({ rules: { silenceWithoutSpeech: 2.4, silenceAfterSpeech: 1.2, maxUtterance: 1 } });
    expect(talker.accept(frames('ab'.repeat(24)), 48)).toBe(false);
    expect(talker.accept(frames('ab'), 2)).toBe(true);
  });

  it('offers beam-search alternatives when a beam width is set', () => {
    const d = decoder({ beamWidth: 8 });
    const V = ALPHABET.length;
    // One uncertain frame: 'a' (0.55) vs 'b' (0.45).
    const lp = new Float32Array(V).fill(Math.log(1e-6));
    lp[2] = Math.log(0.55);
    lp[3] = Math.log(0.45);
    d.accept(lp, 1);
    const alts = d.alternatives(2);
    expect(alts.map((a) => a.text)).toEqual(['a', 'b']);
    expect(Math.exp(alts[0].logProb)).toBeCloseTo(0.55, 4);
  });
});

describe('CtcStreamDecoder with a scored beam', () => {
  /** "h?" then "i" where the second letter is a near-tie between 'a' (0.5) and 'i' (0.45). */
  function ambiguous(): Float32Array {
    const V = ALPHABET.length;
    const rows = ['h', '?', '_', ' ', 'h', 'i'];
    const out = new Float32Array(rows.length * V).fill(Math.log(0.01));
    rows.forEach((c, t) => {
      if (c === '?') {
        out[t * V + 2] = Math.log(0.5);
        out[t * V + 4] = Math.log(0.45);
      } else out[t * V + (c === '_' ? 0 : ALPHABET.indexOf(c))] = Math.log(0.95);
    });
    return out;
  }

  it('a hotword turns the acoustically second-best spelling into the phrase, with its word times', async () => {
    const { HotwordScorer } = await import('../decode/prefix-scorers.ts');
    const greedy = decoder();
    greedy.accept(ambiguous(), 6);
    expect(greedy.finalize().text).toBe('ha hi');
    const boosted = decoder({ beamWidth: 8, scorer: new HotwordScorer([{ phrase: 'hi', boost: 1 }], ALPHABET, 1) });
    boosted.accept(ambiguous(), 6);
    const t = boosted.finalize();
    expect(t.text).toBe('hi hi');
    expect(t.words[0]).toMatchObject({ word: 'hi', start: 0, end: 2 * FRAME });
    expect(t.words[1].start).toBeCloseTo(4 * FRAME, 10);
  });

  it('a word language model picks the known word, and partials come from the beam', async () => {
    const { NgramLm } = await import('../decode/ngram-lm.ts');
    const { WordLmScorer } = await import('../decode/prefix-scorers.ts');
    const lm = NgramLm.fromArpa('\\data\\\n\\1-grams:\n-4 <unk>\n-0.3 hi\n-0.5 </s>\n-99 <s>\n\\end\\\n');
    const d = decoder({ beamWidth: 8, scorer: new WordLmScorer(lm, ALPHABET, 1, { alpha: 1, beta: 0 }) });
    d.accept(ambiguous(), 6);
    expect(d.partial().text).toBe('hi hi');
    expect(d.alternatives(2)[0].text).toBe('hi hi');
  });
});
