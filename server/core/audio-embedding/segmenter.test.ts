import { describe, expect, it } from 'vitest';
import { candidateSegments, speechRegions, trimSilence } from './segmenter.ts';

const RATE = 16000;

/** Tones (speech-like loud stretches) and silences, seconds; a little noise everywhere. */
function audio(parts: [kind: 'tone' | 'quiet', seconds: number][], noise = 1e-4): Float32Array {
  const total = parts.reduce((s, [, d]) => s + Math.round(d * RATE), 0);
  const out = new Float32Array(total);
  let at = 0;
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  for (const [kind, d] of parts) {
    const n = Math.round(d * RATE);
    for (let i = 0; i < n; i++) out[at + i] = (kind === 'tone' ? 0.3 * Math.sin((2 * Math.PI * 220 * i) / RATE) : 0) + noise * rand();
    at += n;
  }
  return out;
}

const secs = (spans: { start: number; end: number }[]) => spans.map((s) => [Math.round((s.start / RATE) * 100) / 100, Math.round((s.end / RATE) * 100) / 100]);

describe('speechRegions', () => {
  it('finds the stretches of speech between pauses, with a margin', () => {
    const x = audio([
      ['quiet', 0.3],
      ['tone', 0.5],
      ['quiet', 0.4],
      ['tone', 0.3],
      ['quiet', 0.2],
    ]);
    expect(secs(speechRegions(x, RATE))).toEqual([
      [0.25, 0.85],
      [1.15, 1.55],
    ]);
  });

  it('joins speech across a pause shorter than minPauseSeconds and drops blips shorter than minSpeechSeconds', () => {
    const x = audio([
      ['quiet', 0.3],
      ['tone', 0.3],
      ['quiet', 0.05],
      ['tone', 0.3],
      ['quiet', 0.5],
      ['tone', 0.03],
      ['quiet', 0.3],
    ]);
    expect(secs(speechRegions(x, RATE))).toEqual([[0.25, 1.0]]);
  });

  it('finds nothing in silence or steady noise, and works on digital silence and a single sample', () => {
    expect(speechRegions(new Float32Array(16000), RATE)).toEqual([]);
    expect(speechRegions(audio([['quiet', 1]], 0.05), RATE)).toEqual([]);
    expect(speechRegions(new Float32Array(0), RATE)).toEqual([]);
    expect(speechRegions(Float32Array.of(0.5), RATE)).toEqual([]);
    expect(trimSilence(new Float32Array(100), RATE)).toEqual({ start: 0, end: 100 });
  });

  it('is level-independent: a quiet recording of the same speech gives the same regions', () => {
    const loud = audio([
      ['quiet', 0.3],
      ['tone', 0.5],
      ['quiet', 0.3],
    ]);
    const quiet = loud.map((v) => v * 0.01);
    expect(speechRegions(quiet, RATE)).toEqual(speechRegions(loud, RATE));
  });
});

describe('candidateSegments', () => {
  it('gives each word, each neighbouring pair that fits in maxWordSeconds, and windows over long stretches', () => {
    const x = audio([
      ['quiet', 0.3],
      ['tone', 0.4],
      ['quiet', 0.3],
      ['tone', 0.4],
      ['quiet', 0.5],
      ['tone', 2.0],
      ['quiet', 0.3],
    ]);
    const c = candidateSegments(x, RATE);
    const s = secs(c);
    expect(s).toContainEqual([0.25, 0.75]);
    expect(s).toContainEqual([0.95, 1.45]);
    expect(s).toContainEqual([0.25, 1.45]); // the pair
    expect(s).not.toContainEqual([1.85, 3.95]); // too long for one word: windows instead
    const windows = c.filter((w) => w.start >= 1.85 * RATE - 1);
    expect(windows.length).toBeGreaterThan(40);
    expect(Math.max(...windows.map((w) => w.end - w.start))).toBeLessThanOrEqual(RATE);
    expect(new Set(c.map((w) => `${w.start}:${w.end}`)).size).toBe(c.length);
    for (let i = 1; i < c.length; i++) expect(c[i].start > c[i - 1].start || (c[i].start === c[i - 1].start && c[i].end > c[i - 1].end)).toBe(true);
  });
});
